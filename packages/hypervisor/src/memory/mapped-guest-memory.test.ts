// Guest RAM seen through windows (mapped-guest-memory.ts): what a boot writes reaches RAM through
// views of a few windows, not one of all of RAM, so V8 does not count RAM's size as external
// memory (which forces a full GC per VM start); accesses that cross a window's end are whole; a
// view of the whole region, once asked for, sees the same bytes.
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { WINDOW_BYTES } from './mapped-guest-memory';
import { MemfdGuestMemory } from './memfd-guest-memory';

const MiB = 1024 * 1024;
const external = () => v8.getHeapStatistics().external_memory;

describe('MappedGuestMemory windows', () => {
  it('a boot-sized load of 512 MiB RAM is not counted as 512 MiB of external memory; the whole view is', () => {
    const mem = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: 512 * MiB }] });
    try {
      const before = external();
      // What a boot writes: a 12 MiB kernel at 16 MiB, a zero page, page tables, small fields.
      mem.write(16 * MiB, new Uint8Array(12 * MiB).fill(0x90));
      mem.write(0x7000, new Uint8Array(4096));
      for (let i = 0; i < 2048; i++) mem.writeU64(0xb000 + i * 8, (BigInt(i) * 0x200000n) | 0x83n);
      mem.slice(0x20000, 256)!.fill(0x41);
      const windows = external() - before;
      expect(windows).toBeLessThan(32 * MiB);
      void mem.regions[0]!.bytes;
      // Within a few MiB: the isolate's other external memory comes and goes.
      expect(external() - before - windows).toBeGreaterThan(512 * MiB - 8 * MiB);
      // Through the whole view: the same bytes.
      const all = mem.regions[0]!.bytes;
      expect(all[16 * MiB + 12 * MiB - 1]).toBe(0x90);
      expect(new DataView(all.buffer).getBigUint64(0xb000 + 5 * 8, true)).toBe((5n * 0x200000n) | 0x83n);
      expect(all[0x20000 + 255]).toBe(0x41);
    } finally {
      mem.close();
    }
  });

  it('accesses across a window end read and write every byte, at every alignment', () => {
    const mem = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: 3 * WINDOW_BYTES }] });
    try {
      const edge = WINDOW_BYTES;
      for (let k = 1; k < 8; k++) {
        mem.writeU64(edge - k, 0x0102030405060708n * BigInt(k));
        expect(mem.readU64(edge - k)).toBe(0x0102030405060708n * BigInt(k));
      }
      mem.writeU16(edge - 1, 0xbeef);
      expect([mem.readU8(edge - 1), mem.readU8(edge)]).toEqual([0xef, 0xbe]);
      expect(mem.readU16(edge - 1)).toBe(0xbeef);
      mem.writeU32(2 * edge - 2, 0xdeadbeef);
      expect(mem.readU32(2 * edge - 2)).toBe(0xdeadbeef);
      const data = Uint8Array.from({ length: 3 * MiB }, (_, i) => (i * 7) & 0xff);
      mem.write(edge - MiB, data);
      const back = mem.slice(edge - MiB, data.length)!;
      expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
      back[MiB] = 0x5a; // a view, not a copy, across the window end too
      expect(mem.readU8(edge)).toBe(0x5a);
      expect(mem.slice(3 * WINDOW_BYTES, 0)).toEqual(new Uint8Array(0));
      expect(mem.regions[0]!.bytes[edge + 1]).toBe(data[MiB + 1]);
      expect(mem.readU16(edge - 1)).toBe(0x5a00 | data[MiB - 1]!); // through the whole view, now in use
    } finally {
      mem.close();
    }
  });
});
