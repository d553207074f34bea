import { describe, expect, it } from 'vitest';
import { BOOT_GDT, gdtEntry, segmentFromGdt } from './gdt';
import { ArrayGuestMemory } from './guest-memory.test-support';
import { memoryLayout } from './memory-map';
import { writeIdentityPageTables } from './paging';

describe('boot GDT', () => {
  it('encodes descriptors as the SDM lays them out (the well-known flat values)', () => {
    expect(gdtEntry(0xc09b, 0, 0xfffff)).toBe(0x00cf9b000000ffffn); // flat 32-bit code
    expect(gdtEntry(0xa09b, 0, 0xfffff)).toBe(0x00af9b000000ffffn); // flat 64-bit code
    expect(gdtEntry(0xc093, 0, 0xfffff)).toBe(0x00cf93000000ffffn); // flat data
    expect(gdtEntry(0x008b, 0x12345678, 0x67)).toBe(0x12008b345678_0067n);
    expect(BOOT_GDT[0]).toBe(0n);
  });

  it('decodes each selector to the KVM segment state it loads', () => {
    expect(segmentFromGdt(0x08)).toEqual({
      base: 0n,
      limit: 0xffffffff,
      selector: 0x08,
      type: 0xb,
      present: 1,
      dpl: 0,
      db: 1,
      s: 1,
      l: 0,
      g: 1,
      avl: 0,
      unusable: 0,
    });
    expect(segmentFromGdt(0x10)).toMatchObject({ l: 1, db: 0, g: 1, limit: 0xffffffff });
    expect(segmentFromGdt(0x18)).toMatchObject({ type: 3, db: 1, s: 1 });
    expect(segmentFromGdt(0x20)).toMatchObject({ type: 0xb, s: 0, g: 0, limit: 0x67, present: 1 });
    expect(segmentFromGdt(0x00)).toMatchObject({ present: 0, unusable: 1 });
    expect(() => segmentFromGdt(0x28)).toThrow(/not in the boot GDT/);
  });
});

describe('identity page tables', () => {
  it('PML4[0] -> PDPT, PDPT[0..3] -> 4 PDs of 2 MiB pages covering 4 GiB, nothing else', () => {
    const memory = new ArrayGuestMemory(memoryLayout(16 * 1024 * 1024));
    memory.slice(0x9000, 0x6000)!.fill(0xcc);
    const cr3 = writeIdentityPageTables(memory);
    expect(cr3).toBe(0x9000n);
    expect(memory.readU64(0x9000)).toBe(0xa003n);
    for (let i = 1; i < 512; i++) expect(memory.readU64(0x9000 + i * 8)).toBe(0n);
    expect([0, 1, 2, 3].map((i) => memory.readU64(0xa000 + i * 8))).toEqual([
      0xb003n,
      0xc003n,
      0xd003n,
      0xe003n,
    ]);
    for (let i = 4; i < 512; i++) expect(memory.readU64(0xa000 + i * 8)).toBe(0n);
    expect(memory.readU64(0xb000)).toBe(0x83n);
    expect(memory.readU64(0xb008)).toBe(0x200083n);
    expect(memory.readU64(0xe000 + 511 * 8)).toBe(0xffe00083n);
  });
});
