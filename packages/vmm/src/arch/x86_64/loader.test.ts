import type { GuestMemory } from '@vmm/hypervisor';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CommandLineError,
  InitrdFitError,
  KernelFitError,
  KernelFormatError,
  MemorySizeError,
} from './errors';
import { BOOT_GDT } from './gdt';
import { ArrayGuestMemory } from './guest-memory.test-support';
import { loadKernel } from './loader';
import { e820Map, memoryLayout } from './memory-map';
import { buildGuestElf, hasGcc, makeBzImage, removeBuiltGuests } from './test-images.test-support';

if (!hasGcc) console.warn('SKIP (no gcc): loader tests on gcc-built ELF guests');

const MiB = 1024 * 1024;
const CMDLINE = 'console=ttyS0 root=/dev/vda rw quiet épée -- init-arg';
const RSDP = 0xe0000;

function memoryOf(size: number): ArrayGuestMemory {
  return new ArrayGuestMemory(memoryLayout(size));
}

function initrdOf(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 13 + 5) & 0xff;
  return bytes;
}

/** The NUL-terminated string at gpa. */
function readCString(memory: GuestMemory, gpa: number): Uint8Array {
  const bytes = memory.slice(gpa, 4096)!;
  return bytes.subarray(0, bytes.indexOf(0));
}

/** Walk the guest's 4-level page tables (2 MiB pages) for `va`. */
function translate(memory: GuestMemory, cr3: bigint, va: number): number | undefined {
  const addrMask = 0x000f_ffff_ffff_f000n;
  const pml4e = memory.readU64(Number(cr3) + Math.floor(va / 2 ** 39) * 8);
  if (!(pml4e & 1n)) return undefined;
  const pdpte = memory.readU64(Number(pml4e & addrMask) + (Math.floor(va / 2 ** 30) % 512) * 8);
  if (!(pdpte & 1n) || pdpte & 0x80n) return undefined;
  const pde = memory.readU64(Number(pdpte & addrMask) + (Math.floor(va / 2 ** 21) % 512) * 8);
  if (!(pde & 1n) || !(pde & 0x80n) || !(pde & 2n)) return undefined;
  return Number(pde & 0x000f_ffff_ffe0_0000n) + (va % 2 ** 21);
}

function expectE820At(memory: GuestMemory, at: number, stride: number, ramSize: number): void {
  e820Map(ramSize).forEach((e, i) => {
    expect(memory.readU64(at + i * stride)).toBe(BigInt(e.addr));
    expect(memory.readU64(at + i * stride + 8)).toBe(BigInt(e.size));
    expect(memory.readU32(at + i * stride + 16)).toBe(e.type);
  });
}

describe.skipIf(!hasGcc)('loadKernel: ELF', () => {
  afterAll(removeBuiltGuests);

  it('PVH ELF: 32-bit entry at the note, EBX = hvm_start_info with cmdline, modlist, memmap, rsdp', () => {
    const memory = memoryOf(64 * MiB);
    const initrd = initrdOf(10_000);
    const plan = loadKernel(memory, buildGuestElf('pvh-guest'), {
      cmdline: CMDLINE,
      initrd,
      rsdpAddress: RSDP,
      ramSize: 64 * MiB,
    });
    expect(plan.format).toBe('elf-pvh');
    expect(plan.entryKind).toBe('pvh');
    expect(plan.regs.rip).toBe(0x100002n);
    expect(plan.regs.rflags).toBe(2n);
    expect(plan.sregs.cr0 & 1n).toBe(1n);
    expect(plan.sregs.cr0 & 0x8000_0000n).toBe(0n);
    expect(plan.sregs.efer).toBe(0n);
    expect(plan.sregs.cs).toMatchObject({
      selector: 0x08,
      base: 0n,
      limit: 0xffffffff,
      db: 1,
      l: 0,
      type: 0xb,
      s: 1,
    });
    for (const seg of [plan.sregs.ds, plan.sregs.es, plan.sregs.ss]) {
      expect(seg).toMatchObject({
        selector: 0x18,
        base: 0n,
        limit: 0xffffffff,
        db: 1,
        type: 0x3,
        present: 1,
      });
    }
    const si = Number(plan.regs.rbx);
    expect(si).toBe(plan.bootInfo.address);
    // struct hvm_start_info, read at its documented offsets.
    expect(memory.readU32(si + 0)).toBe(0x336ec578);
    expect(memory.readU32(si + 4)).toBe(1);
    expect(memory.readU32(si + 8)).toBe(0);
    expect(memory.readU32(si + 12)).toBe(1);
    const modlist = Number(memory.readU64(si + 16));
    expect(readCString(memory, Number(memory.readU64(si + 24)))).toEqual(new TextEncoder().encode(CMDLINE));
    expect(memory.readU64(si + 32)).toBe(BigInt(RSDP));
    expect(memory.readU32(si + 48)).toBe(3);
    expect(memory.readU32(si + 52)).toBe(0);
    expectE820At(memory, Number(memory.readU64(si + 40)), 24, 64 * MiB);
    // hvm_modlist_entry: the initrd, page-aligned at the top of RAM, byte for byte.
    const initrdAt = Number(memory.readU64(modlist));
    expect(memory.readU64(modlist + 8)).toBe(10_000n);
    expect(initrdAt % 4096).toBe(0);
    expect(initrdAt).toBe(Math.floor((64 * MiB - 10_000) / 4096) * 4096);
    expect(memory.slice(initrdAt, 10_000)).toEqual(initrd);
    expect(plan.initrd).toEqual({ address: initrdAt, size: 10_000 });
    // The GDT the segments came from is in memory.
    BOOT_GDT.forEach((d, i) => expect(memory.readU64(Number(plan.sregs.gdt.base) + i * 8)).toBe(d));
    expect(plan.sregs.gdt.limit).toBe(BOOT_GDT.length * 8 - 1);
    expect(plan.pageTables).toBeUndefined();
  });

  it('ELF without a PVH note: Linux 64-bit entry at e_entry with a zero page built from scratch', () => {
    const memory = memoryOf(64 * MiB);
    const plan = loadKernel(memory, buildGuestElf('long-mode-guest'), {
      cmdline: CMDLINE,
      initrd: initrdOf(5000),
      rsdpAddress: RSDP,
      ramSize: 64 * MiB,
    });
    expect(plan.format).toBe('elf');
    expect(plan.entryKind).toBe('linux-64');
    expect(plan.regs.rip).toBe(0x100000n);
    const zp = Number(plan.regs.rsi);
    expect(zp).toBe(0x7000);
    expect(memory.readU16(zp + 0x1fe)).toBe(0xaa55); // boot_flag
    expect(memory.readU32(zp + 0x202)).toBe(0x53726448); // "HdrS"
    expect(memory.readU16(zp + 0x206)).toBeGreaterThanOrEqual(0x020c); // version
    expect(memory.readU8(zp + 0x210)).toBe(0xff); // type_of_loader
    expect(memory.readU8(zp + 0x211) & 1).toBe(1); // LOADED_HIGH
    expect(memory.readU32(zp + 0x238)).toBe(2047); // cmdline_size
    expect(memory.readU8(zp + 0x1ef)).toBe(0); // sentinel
    expect(memory.readU32(zp + 0x218)).toBe(plan.initrd!.address); // ramdisk_image
    expect(memory.readU32(zp + 0x21c)).toBe(5000); // ramdisk_size
    expect(memory.readU32(zp + 0xc0)).toBe(0); // ext_ramdisk_image
    expect(readCString(memory, memory.readU32(zp + 0x228))).toEqual(new TextEncoder().encode(CMDLINE));
    expect(memory.readU64(zp + 0x70)).toBe(BigInt(RSDP)); // acpi_rsdp_addr
    expect(memory.readU8(zp + 0x1e8)).toBe(3); // e820_entries
    expectE820At(memory, zp + 0x2d0, 20, 64 * MiB);
  });

  it('long-mode state: CR0 PE|PG|ET, CR4 PAE, EFER LME|LMA, CS.L, identity tables for 4 GiB', () => {
    const memory = memoryOf(64 * MiB);
    const plan = loadKernel(memory, buildGuestElf('long-mode-guest'), { cmdline: '', ramSize: 64 * MiB });
    expect(plan.sregs.cr0).toBe(0x8000_0011n);
    expect(plan.sregs.cr4).toBe(0x20n);
    expect(plan.sregs.efer).toBe(0x500n);
    expect(plan.sregs.cs).toMatchObject({ selector: 0x10, l: 1, db: 0, present: 1, type: 0xb });
    expect(plan.sregs.ds.selector).toBe(0x18);
    expect(plan.sregs.tr).toMatchObject({ selector: 0x20, type: 0xb, present: 1, s: 0 });
    expect(plan.regs.rsp).toBe(0x8ff0n);
    expect(plan.regs.rflags).toBe(2n);
    expect(plan.initrd).toBeUndefined();
    expect(memory.readU32(0x7000 + 0x218)).toBe(0);
    for (const va of [
      0, 0x7000, 0x100000, 0x20_0000, 0x3fff_ffff, 0x4000_0000, 0xc000_1234, 0xfee0_0000, 0xffff_ffff,
    ]) {
      expect(translate(memory, plan.sregs.cr3, va)).toBe(va);
    }
    expect(() => translate(memory, plan.sregs.cr3, 0x1_0000_0000)).not.toThrow();
    expect(translate(memory, plan.sregs.cr3, 0x1_0000_0000)).toBeUndefined();
  });

  it('command line byte for byte; too long or with NUL fails with CommandLineError', () => {
    const memory = memoryOf(32 * MiB);
    const elf = buildGuestElf('pvh-guest');
    const long = 'x'.repeat(2047);
    const plan = loadKernel(memory, elf, { cmdline: long, ramSize: 32 * MiB });
    expect(plan.cmdline).toEqual({ address: 0x20000, size: 2048 });
    expect(memory.slice(0x20000, 2048)).toEqual(new TextEncoder().encode(`${long}\0`));
    expect(() => loadKernel(memory, elf, { cmdline: `${long}x`, ramSize: 32 * MiB })).toThrow(
      CommandLineError,
    );
    expect(() => loadKernel(memory, elf, { cmdline: `${long}x`, ramSize: 32 * MiB })).toThrow(
      /2048 bytes and this kernel accepts at most 2047/,
    );
    expect(() => loadKernel(memory, elf, { cmdline: 'a\0b', ramSize: 32 * MiB })).toThrow(/NUL/);
  });

  it('an initrd that does not fit fails with InitrdFitError', () => {
    const memory = memoryOf(16 * MiB);
    expect(() =>
      loadKernel(memory, buildGuestElf('pvh-guest'), {
        cmdline: '',
        initrd: initrdOf(15 * MiB),
        ramSize: 16 * MiB,
      }),
    ).toThrow(InitrdFitError);
  });
});

describe('loadKernel: bzImage', () => {
  it('64-bit entry at load address + 0x200; the setup header copied into the zero page', () => {
    const memory = memoryOf(64 * MiB);
    const bytes = makeBzImage();
    const plan = loadKernel(memory, bytes, {
      cmdline: CMDLINE,
      initrd: initrdOf(3 * MiB),
      ramSize: 64 * MiB,
    });
    expect(plan.format).toBe('bzimage');
    expect(plan.entryKind).toBe('linux-64');
    expect(plan.regs.rip).toBe(0x1000200n);
    expect(memory.readU32(0x1000200)).toBe(0xfeedf00d);
    expect(plan.kernel).toEqual({ address: 0x1000000, size: 0x80_0000 });
    const zp = 0x7000;
    const changed = new Set([0x1fa, 0x1fb, 0x210, ...range(0x218, 8), ...range(0x228, 4)]);
    for (let off = 0x1f1; off < 0x26c; off++) {
      if (!changed.has(off)) expect([off, memory.readU8(zp + off)]).toEqual([off, bytes[off]]);
    }
    expect(memory.readU16(zp + 0x1fa)).toBe(0xffff); // vid_mode
    expect(memory.readU8(zp + 0x210)).toBe(0xff);
    expect(readCString(memory, memory.readU32(zp + 0x228))).toEqual(new TextEncoder().encode(CMDLINE));
    expect(memory.readU32(zp + 0x21c)).toBe(3 * MiB);
    expect(memory.readU32(zp + 0x218)).toBe(61 * MiB);
    expect(memory.slice(zp + 0x26c, 0x290 - 0x26c)!.every((b) => b === 0)).toBe(true);
  });

  it('the initrd stays below initrd_addr_max, page-aligned', () => {
    const memory = memoryOf(128 * MiB);
    const plan = loadKernel(memory, makeBzImage({ initrdAddrMax: 0x2ff_ffff }), {
      cmdline: '',
      initrd: initrdOf(12_345),
      ramSize: 128 * MiB,
    });
    expect(plan.initrd!.address).toBe(Math.floor((0x300_0000 - 12_345) / 4096) * 4096);
    expect(plan.initrd!.address + plan.initrd!.size - 1).toBeLessThanOrEqual(0x2ff_ffff);
    expect(() =>
      loadKernel(memory, makeBzImage({ initrdAddrMax: 0x1ff_ffff }), {
        cmdline: '',
        initrd: initrdOf(16 * MiB),
        ramSize: 128 * MiB,
      }),
    ).toThrow(/does not fit between the kernel's end \(24.0 MiB\) and 32.0 MiB/);
  });

  it("the kernel's cmdline_size is the limit", () => {
    const memory = memoryOf(64 * MiB);
    const image = makeBzImage({ cmdlineSize: 10 });
    expect(() => loadKernel(memory, image, { cmdline: '0123456789', ramSize: 64 * MiB })).not.toThrow();
    expect(() => loadKernel(memory, image, { cmdline: '0123456789a', ramSize: 64 * MiB })).toThrow(
      CommandLineError,
    );
  });

  it('a kernel that does not fit in RAM fails with KernelFitError', () => {
    expect(() => loadKernel(memoryOf(16 * MiB), makeBzImage(), { cmdline: '', ramSize: 16 * MiB })).toThrow(
      KernelFitError,
    );
  });
});

describe('loadKernel: what is not a kernel', () => {
  it('names what the file starts with', () => {
    const memory = memoryOf(16 * MiB);
    const gz = Uint8Array.from([0x1f, 0x8b, 0x08, 0x00, 0x41, 0x42]);
    expect(() => loadKernel(memory, gz, { cmdline: '', ramSize: 16 * MiB })).toThrow(KernelFormatError);
    expect(() => loadKernel(memory, gz, { cmdline: '', ramSize: 16 * MiB })).toThrow(
      /starts with 1f 8b 08 00 41 42 \("\.\.\.\.AB"\): gzip data, decompress it first/,
    );
    expect(() => loadKernel(memory, new Uint8Array(), { cmdline: '', ramSize: 16 * MiB })).toThrow(
      /file is empty/,
    );
    const noHdrS = makeBzImage();
    noHdrS[0x202] = 0;
    expect(() => loadKernel(memory, noHdrS, { cmdline: '', ramSize: 16 * MiB })).toThrow(
      /PE\/EFI executable/,
    );
  });

  it('memory that does not match ramSize is a wiring error', () => {
    expect(() => loadKernel(memoryOf(16 * MiB), makeBzImage(), { cmdline: '', ramSize: 32 * MiB })).toThrow(
      MemorySizeError,
    );
  });
});

function range(start: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => start + i);
}
