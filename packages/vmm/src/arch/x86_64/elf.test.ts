import { afterAll, describe, expect, it } from 'vitest';
import { isElf, loadElfSegments, parseElf } from './elf';
import { KernelFitError, KernelImageError, KernelUnsupportedError } from './errors';
import { ArrayGuestMemory } from './guest-memory.test-support';
import { memoryLayout } from './memory-map';
import { buildGuestElf, hasGcc, removeBuiltGuests } from './test-images.test-support';

if (!hasGcc) console.warn('SKIP (no gcc): ELF loader tests on gcc-built guests');

const MiB = 1024 * 1024;

/** Offset of program header `i` and a DataView to patch it. */
function phdr(bytes: Uint8Array, i: number): { v: DataView; at: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { v, at: Number(v.getBigUint64(0x20, true)) + i * v.getUint16(0x36, true) };
}

function firstOfType(bytes: Uint8Array, type: number): { v: DataView; at: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < v.getUint16(0x38, true); i++) {
    const p = phdr(bytes, i);
    if (v.getUint32(p.at, true) === type) return p;
  }
  throw new Error(`no program header of type ${type}`);
}

describe.skipIf(!hasGcc)('ELF64 kernels built with gcc', () => {
  afterAll(removeBuiltGuests);

  it('finds the PVH entry (4-byte note) apart from e_entry, and the loadable segments', () => {
    const elf = parseElf(buildGuestElf('pvh-guest'));
    expect(elf.entry).toBe(0x100000); // _start: ud2
    expect(elf.pvhEntry).toBe(0x100002); // pvh_start, after the 2-byte ud2
    expect(elf.segments.map((s) => [s.paddr, s.memsz > s.filesz])).toEqual([
      [0x100000, false],
      [0x101000, true],
    ]);
  });

  it('reads an 8-byte PVH note as Linux x86_64 emits it', () => {
    expect(parseElf(buildGuestElf('pvh-guest', ['PVH_NOTE_QUAD'])).pvhEntry).toBe(0x100002);
  });

  it('an ELF with only another vendor note has no PVH entry; p_paddr is used, not p_vaddr', () => {
    const elf = parseElf(buildGuestElf('long-mode-guest'));
    expect(elf.pvhEntry).toBeUndefined();
    expect(elf.entry).toBe(0x100000); // phys_startup_64
    expect(elf.segments.map((s) => s.paddr)).toEqual([0x100000, 0x101000]);
  });

  it('loads segments byte for byte and zeroes their bss tails', () => {
    const bytes = buildGuestElf('pvh-guest');
    const elf = parseElf(bytes);
    const memory = new ArrayGuestMemory(memoryLayout(32 * MiB));
    memory.slice(0x100000, 0x10000)!.fill(0xaa);
    const range = loadElfSegments(memory, bytes, elf);
    for (const s of elf.segments) {
      expect(memory.slice(s.paddr, s.filesz)).toEqual(bytes.subarray(s.offset, s.offset + s.filesz));
      expect(memory.slice(s.paddr + s.filesz, s.memsz - s.filesz)!.every((b) => b === 0)).toBe(true);
    }
    const data = elf.segments[1]!;
    expect(new TextDecoder().decode(memory.slice(data.paddr, 14))).toBe('PVH guest data');
    expect(range).toEqual({ start: 0x100000, end: data.paddr + data.memsz });
  });

  it('truncated files fail with KernelImageError', () => {
    const bytes = buildGuestElf('pvh-guest');
    expect(() => parseElf(bytes.subarray(0, 40))).toThrow(KernelImageError);
    expect(() => parseElf(bytes.subarray(0, 0x100))).toThrow(/lies outside the 256-byte file/);
    expect(() => parseElf(bytes.subarray(0, 0x1010))).toThrow(KernelImageError);
  });

  it('bad magic is not ELF; parseElf refuses it', () => {
    const bytes = buildGuestElf('pvh-guest').slice();
    bytes[1] = 0x46;
    expect(isElf(bytes)).toBe(false);
    expect(() => parseElf(bytes)).toThrow(KernelImageError);
  });

  it('a program header table out of the file fails', () => {
    const bytes = buildGuestElf('pvh-guest').slice();
    new DataView(bytes.buffer).setBigUint64(0x20, BigInt(bytes.length - 8), true);
    expect(() => parseElf(bytes)).toThrow(/program header table .* lies outside/);
  });

  it('a segment whose bytes lie out of the file fails', () => {
    const bytes = buildGuestElf('pvh-guest').slice();
    const { v, at } = phdr(bytes, 0);
    v.setBigUint64(at + 0x20, 0x10_0000n, true); // p_filesz
    v.setBigUint64(at + 0x28, 0x10_0000n, true); // p_memsz
    expect(() => parseElf(bytes)).toThrow(/segment 0 .* lies outside/);
  });

  it('p_filesz > p_memsz fails', () => {
    const bytes = buildGuestElf('pvh-guest').slice();
    const { v, at } = phdr(bytes, 0);
    v.setBigUint64(at + 0x28, 1n, true);
    expect(() => parseElf(bytes)).toThrow(/p_filesz .* > p_memsz/);
  });

  it('a segment outside RAM or below 1 MiB fails with KernelFitError before anything is written', () => {
    const memory = new ArrayGuestMemory(memoryLayout(32 * MiB));
    const high = buildGuestElf('pvh-guest').slice();
    const p = phdr(high, 1);
    p.v.setBigUint64(p.at + 0x18, 0x4000_0000n, true); // p_paddr at 1 GiB, RAM is 32 MiB
    expect(() => loadElfSegments(memory, high, parseElf(high))).toThrow(KernelFitError);
    expect(() => loadElfSegments(memory, high, parseElf(high))).toThrow(/not inside guest RAM \(32 MiB\)/);
    expect(memory.slice(0x100000, 0x20)!.every((b) => b === 0)).toBe(true);

    const low = buildGuestElf('pvh-guest').slice();
    const q = phdr(low, 0);
    q.v.setBigUint64(q.at + 0x18, 0x7000n, true);
    expect(() => loadElfSegments(memory, low, parseElf(low))).toThrow(/overlaps the boot area below 1 MiB/);
  });

  it('ELF32, big-endian, wrong machine and ET_DYN are refused with KernelUnsupportedError', () => {
    for (const [offset, value, message] of [
      [4, 1, /ELFCLASS64/],
      [5, 2, /big-endian/],
      [0x12, 40, /not x86_64/],
      [0x10, 3, /not ET_EXEC/],
    ] as const) {
      const bytes = buildGuestElf('pvh-guest').slice();
      bytes[offset] = value;
      expect(() => parseElf(bytes)).toThrow(KernelUnsupportedError);
      expect(() => parseElf(bytes)).toThrow(message);
    }
  });

  it('a note running past its segment, or a PVH note of odd size, fails', () => {
    const bytes = buildGuestElf('pvh-guest').slice();
    const { v, at } = firstOfType(bytes, 4);
    const note = Number(v.getBigUint64(at + 8, true));
    v.setUint32(note + 4, 0x1000, true); // descsz
    expect(() => parseElf(bytes)).toThrow(/runs past the end of its PT_NOTE segment/);
    v.setUint32(note + 4, 2, true);
    expect(() => parseElf(bytes)).toThrow(/2-byte value/);
  });
});
