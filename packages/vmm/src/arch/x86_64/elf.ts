// ELF64 kernels: the file header and program headers of the System V gABI ("ELF-64 Object File
// Format", elf(5)), PT_LOAD segments loaded at their physical addresses, and the Xen PVH entry
// note XEN_ELFNOTE_PHYS32_ENTRY (xen/include/public/elfnote.h; Linux emits it in
// arch/x86/platform/pvh/head.S). Every offset read from the file is bounds-checked.
import type { GuestMemory } from '@vmm/hypervisor';
import { KernelFitError, KernelImageError, KernelUnsupportedError } from './errors';
import { ImageBytes } from './image-bytes';
import { copyKernelToGuest, kernelHead, type KernelInput } from './kernel-source';
import { HIMEM_START } from './layout';

// e_ident (elf(5)).
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46]; // "\x7fELF"
const EI_CLASS = 4;
const EI_DATA = 5;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;

// Elf64_Ehdr field offsets.
const E_TYPE = 0x10;
const E_MACHINE = 0x12;
const E_ENTRY = 0x18;
const E_PHOFF = 0x20;
const E_PHENTSIZE = 0x36;
const E_PHNUM = 0x38;
const EHDR_SIZE = 0x40;
const ET_EXEC = 2;
const EM_X86_64 = 62;
const PN_XNUM = 0xffff;

// Elf64_Phdr field offsets.
const P_TYPE = 0x00;
const P_FLAGS = 0x04;
const P_OFFSET = 0x08;
const P_PADDR = 0x18;
const P_FILESZ = 0x20;
const P_MEMSZ = 0x28;
const PHDR_SIZE = 0x38;
const PT_LOAD = 1;
const PT_NOTE = 4;

// Elf64_Nhdr: namesz, descsz, type (4 bytes each), then name and desc, each padded to 4 bytes.
const NHDR_SIZE = 12;
const XEN_ELFNOTE_PHYS32_ENTRY = 18;
const XEN_NOTE_NAME = 'Xen';
/** The owner of Linux's own notes (include/linux/elfnote.h: the build salt since 4.19, LTO info). */
const LINUX_NOTE_NAME = 'Linux';

export interface ElfSegment {
  /** Offset of the segment's bytes in the file. */
  offset: number;
  /** Guest-physical load address (p_paddr). */
  paddr: number;
  filesz: number;
  memsz: number;
  flags: number;
}

export interface ElfKernel {
  /** e_entry: for a Linux vmlinux, the physical address of startup_64. */
  entry: number;
  /** PT_LOAD segments with a non-zero memory size, in file order. */
  segments: ElfSegment[];
  /** The 32-bit PVH entry point, when the file carries XEN_ELFNOTE_PHYS32_ENTRY. */
  pvhEntry: number | undefined;
  /** A note owned by "Linux" is there: the file is a Linux kernel (4.19 and later emit one). */
  linuxNote: boolean;
}

export function isElf(input: KernelInput): boolean {
  const head = kernelHead(input, 4);
  return head.length >= 4 && ELF_MAGIC.every((b, i) => head[i] === b);
}

/** Parse an x86_64 ELF executable. Throws KernelImageError / KernelUnsupportedError, nothing else. */
export function parseElf(input: KernelInput): ElfKernel {
  const file = new ImageBytes(input, 'ELF kernel');
  file.check(0, EHDR_SIZE, 'ELF header');
  if (!isElf(input)) throw new KernelImageError('ELF kernel: the file does not start with \\x7fELF');
  const elfClass = file.u8(EI_CLASS, 'EI_CLASS');
  if (elfClass !== ELFCLASS64) {
    throw new KernelUnsupportedError(
      `ELF kernel: class ${elfClass} is not ELFCLASS64: build a 64-bit kernel (a 32-bit PVH ELF is not supported)`,
    );
  }
  if (file.u8(EI_DATA, 'EI_DATA') !== ELFDATA2LSB) {
    throw new KernelUnsupportedError('ELF kernel: the file is big-endian: an x86_64 kernel is little-endian');
  }
  const machine = file.u16(E_MACHINE, 'e_machine');
  if (machine !== EM_X86_64) {
    throw new KernelUnsupportedError(
      `ELF kernel: e_machine is ${machine}, not x86_64 (62): wrong architecture`,
    );
  }
  const type = file.u16(E_TYPE, 'e_type');
  if (type !== ET_EXEC) {
    throw new KernelUnsupportedError(
      `ELF kernel: e_type is ${type}, not ET_EXEC (2): link the kernel as a static executable`,
    );
  }
  const entry = file.u64(E_ENTRY, 'e_entry');
  const phoff = file.u64(E_PHOFF, 'e_phoff');
  const phentsize = file.u16(E_PHENTSIZE, 'e_phentsize');
  const phnum = file.u16(E_PHNUM, 'e_phnum');
  if (phnum === PN_XNUM) throw new KernelUnsupportedError('ELF kernel: more than 65534 program headers');
  if (phnum === 0) throw new KernelImageError('ELF kernel: no program headers, nothing to load');
  if (phentsize < PHDR_SIZE) {
    throw new KernelImageError(`ELF kernel: e_phentsize ${phentsize} is smaller than an Elf64_Phdr (56)`);
  }
  file.check(phoff, phnum * phentsize, 'program header table');

  const segments: ElfSegment[] = [];
  let pvhEntry: number | undefined;
  let linuxNote = false;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    const pType = file.u32(ph + P_TYPE, `program header ${i}`);
    if (pType !== PT_LOAD && pType !== PT_NOTE) continue;
    const seg: ElfSegment = {
      offset: file.u64(ph + P_OFFSET, `p_offset of program header ${i}`),
      paddr: file.u64(ph + P_PADDR, `p_paddr of program header ${i}`),
      filesz: file.u64(ph + P_FILESZ, `p_filesz of program header ${i}`),
      memsz: file.u64(ph + P_MEMSZ, `p_memsz of program header ${i}`),
      flags: file.u32(ph + P_FLAGS, `p_flags of program header ${i}`),
    };
    file.check(seg.offset, seg.filesz, `segment ${i}`);
    if (pType === PT_NOTE) {
      const notes = scanNotes(file, seg.offset, seg.filesz);
      pvhEntry ??= notes.pvhEntry;
      linuxNote ||= notes.linuxNote;
      continue;
    }
    if (seg.filesz > seg.memsz) {
      throw new KernelImageError(
        `ELF kernel: segment ${i} has p_filesz ${seg.filesz} > p_memsz ${seg.memsz}`,
      );
    }
    if (!Number.isSafeInteger(seg.paddr + seg.memsz)) {
      throw new KernelImageError(`ELF kernel: segment ${i} ends beyond any physical address`);
    }
    if (seg.memsz > 0) segments.push(seg);
  }
  if (segments.length === 0) throw new KernelImageError('ELF kernel: no PT_LOAD segment, nothing to load');
  return { entry, segments, pvhEntry, linuxNote };
}

/**
 * Walk the notes in [offset, offset+size): Xen's PHYS32_ENTRY (its desc is 4 or 8 bytes), and
 * whether any is owned by "Linux".
 */
function scanNotes(
  file: ImageBytes,
  offset: number,
  size: number,
): { pvhEntry: number | undefined; linuxNote: boolean } {
  const end = offset + size;
  let pos = offset;
  let pvhEntry: number | undefined;
  let linuxNote = false;
  while (pos + NHDR_SIZE <= end) {
    const namesz = file.u32(pos, 'note namesz');
    const descsz = file.u32(pos + 4, 'note descsz');
    const type = file.u32(pos + 8, 'note type');
    const name = pos + NHDR_SIZE;
    const desc = name + align4(namesz);
    const next = desc + align4(descsz);
    if (next > end) throw new KernelImageError('ELF kernel: a note runs past the end of its PT_NOTE segment');
    if (namesz === LINUX_NOTE_NAME.length + 1 && isName(file, name, LINUX_NOTE_NAME)) linuxNote = true;
    if (
      pvhEntry === undefined &&
      type === XEN_ELFNOTE_PHYS32_ENTRY &&
      namesz === XEN_NOTE_NAME.length + 1 &&
      isName(file, name, XEN_NOTE_NAME)
    ) {
      let value: number;
      if (descsz === 4) value = file.u32(desc, 'PVH entry note');
      else if (descsz === 8) value = file.u64(desc, 'PVH entry note');
      else
        throw new KernelImageError(`ELF kernel: the PVH entry note has a ${descsz}-byte value, not 4 or 8`);
      if (value >= 0x1_0000_0000) {
        throw new KernelImageError(
          `ELF kernel: the PVH entry 0x${value.toString(16)} is not a 32-bit address`,
        );
      }
      pvhEntry = value;
    }
    pos = next;
  }
  return { pvhEntry, linuxNote };
}

/** The note name at `at` is `expected` and its NUL. */
function isName(file: ImageBytes, at: number, expected: string): boolean {
  const name = file.slice(at, expected.length + 1, 'note name');
  for (let i = 0; i < expected.length; i++) if (name[i] !== expected.charCodeAt(i)) return false;
  return name[expected.length] === 0;
}

/** n rounded up to a multiple of 4, for any u32: `(n + 3) & ~3` wraps past 2^31 and walks backwards. */
function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

export interface LoadedRange {
  /** Lowest guest-physical address written. */
  start: number;
  /** One past the highest. */
  end: number;
}

/**
 * Copy the PT_LOAD segments into guest memory at p_paddr and zero their p_memsz tails. Every segment
 * must lie in RAM, at or above 1 MiB (below is the monitor's boot area). Checks all before writing.
 */
export function loadElfSegments(
  memory: GuestMemory,
  input: KernelInput,
  elf: ElfKernel,
  checkOnly = false,
): LoadedRange {
  let start = Number.MAX_SAFE_INTEGER;
  let end = 0;
  for (const seg of elf.segments) {
    const where = `0x${seg.paddr.toString(16)}..0x${(seg.paddr + seg.memsz).toString(16)}`;
    if (seg.paddr < HIMEM_START) {
      throw new KernelFitError(
        `ELF kernel: segment ${where} overlaps the boot area below 1 MiB: link the kernel at 0x100000 or above`,
      );
    }
    if (!memory.contains(seg.paddr, seg.memsz)) {
      throw new KernelFitError(
        `ELF kernel: segment ${where} is not inside guest RAM (${Math.floor(memory.totalSize / 0x100000)} MiB): give the VM more memory`,
      );
    }
    start = Math.min(start, seg.paddr);
    end = Math.max(end, seg.paddr + seg.memsz);
  }
  if (checkOnly) return { start, end };
  for (const seg of elf.segments) {
    copyKernelToGuest(memory, seg.paddr, input, seg.offset, seg.filesz);
    memory.slice(seg.paddr + seg.filesz, seg.memsz - seg.filesz)?.fill(0);
  }
  return { start, end };
}
