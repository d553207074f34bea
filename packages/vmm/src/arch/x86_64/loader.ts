// Load a kernel into guest memory and plan the boot vCPU's entry. The format is chosen by content:
//   1. ELF with a Xen PVH note  -> PVH entry (32-bit protected mode, EBX = hvm_start_info)
//   2. ELF without one          -> Linux 64-bit boot protocol at e_entry (zero page built here)
//   3. bzImage ("HdrS")         -> Linux 64-bit boot protocol at load address + 0x200
// The initrd goes to the top of low RAM, page-aligned, below what the kernel accepts.
import type { GuestMemory, X86Regs, X86Sregs } from '@vmm/hypervisor';
import { linux64BootRegisters, pvhBootRegisters } from './boot-regs';
import { STARTUP_64_OFFSET, isBzImage, loadBzImage, parseBzImage } from './bzimage';
import { isElf, loadElfSegments, parseElf } from './elf';
import { kernelHead, type KernelInput } from './kernel-source';
import { CommandLineError, InitrdFitError, KernelFormatError, MemorySizeError } from './errors';
import { writeGdt } from './gdt';
import {
  CMDLINE_MAX_SIZE,
  CMDLINE_START,
  GDT_START,
  PAGE_SIZE,
  PAGE_TABLES_END,
  PML4_START,
  ZERO_PAGE_START,
  alignDown,
  alignUp,
} from './layout';
import { type E820Entry, checkRamSize, e820Map, lowRamSize } from './memory-map';
import { writeIdentityPageTables } from './paging';
import { HVM_START_INFO_SIZE, writeStartInfo } from './start-info';
import { BOOT_PARAMS_SIZE, buildZeroPage, writeZeroPage } from './zero-page';

/** Linux x86's COMMAND_LINE_SIZE (2048, NUL included): the limit for kernels that do not state one. */
export const DEFAULT_CMDLINE_MAX = 2047;

export interface LoadKernelOptions {
  /** The kernel command line (without NUL). */
  cmdline: string;
  /** The initrd / initramfs image; absent or empty: none. */
  initrd?: Uint8Array;
  /** Guest-physical address of the ACPI RSDP; absent or 0: no ACPI. */
  rsdpAddress?: number;
  /** Guest RAM size in bytes; must equal memory.totalSize. */
  ramSize: number;
  /** A dry run: the kernel's bytes are not copied (only where they go is checked). */
  checkOnly?: boolean;
}

export type KernelFormat = 'elf-pvh' | 'elf' | 'bzimage';
export type EntryKind = 'pvh' | 'linux-64';

export interface Placement {
  address: number;
  size: number;
}

export interface BootPlan {
  format: KernelFormat;
  entryKind: EntryKind;
  entryAddress: number;
  /** Registers for the boot vCPU (KVM_SET_REGS / KVM_SET_SREGS). */
  regs: X86Regs;
  sregs: X86Sregs;
  /** The range the kernel occupies (for a bzImage: its init_size from the load address). */
  kernel: Placement;
  initrd: Placement | undefined;
  /** The command line, its NUL included. */
  cmdline: Placement;
  /** hvm_start_info (PVH) or boot_params (64-bit). */
  bootInfo: Placement;
  gdt: Placement;
  /** The identity page tables (64-bit entries only). */
  pageTables: Placement | undefined;
  /** The memory map handed to the guest. */
  e820: E820Entry[];
}

export function loadKernel(
  memory: GuestMemory,
  kernelBytes: KernelInput,
  options: LoadKernelOptions,
): BootPlan {
  checkRamSize(options.ramSize);
  if (memory.totalSize !== options.ramSize) {
    throw new MemorySizeError(
      `guest memory holds ${memory.totalSize} bytes but the kernel was to be loaded for ${options.ramSize}: ` +
        'create the memory from memoryLayout(ramSize)',
    );
  }
  const e820 = e820Map(options.ramSize);
  const initrdBytes = options.initrd && options.initrd.length > 0 ? options.initrd : undefined;
  const lowEnd = lowRamSize(options.ramSize);

  if (isElf(kernelBytes)) {
    const elf = parseElf(kernelBytes);
    const cmdline = encodeCmdline(options.cmdline, DEFAULT_CMDLINE_MAX);
    const loaded = loadElfSegments(memory, kernelBytes, elf, options.checkOnly);
    const kernel = { address: loaded.start, size: loaded.end - loaded.start };
    const initrd = initrdBytes && placeInitrd(memory, initrdBytes, loaded.end, lowEnd - 1, lowEnd);
    const cmdlinePlace = writeCmdline(memory, cmdline);
    const gdt = writeGdt(memory);
    const gdtPlace = { address: GDT_START, size: gdt.limit + 1 };
    if (elf.pvhEntry !== undefined) {
      const si = writeStartInfo(memory, {
        cmdlineAddress: CMDLINE_START,
        rsdpAddress: options.rsdpAddress,
        memmap: e820,
        modules: initrd ? [initrd] : [],
      });
      const { regs, sregs } = pvhBootRegisters(elf.pvhEntry, si.startInfo, gdt);
      return {
        format: 'elf-pvh',
        entryKind: 'pvh',
        entryAddress: elf.pvhEntry,
        regs,
        sregs,
        kernel,
        initrd,
        cmdline: cmdlinePlace,
        bootInfo: { address: si.startInfo, size: HVM_START_INFO_SIZE },
        gdt: gdtPlace,
        pageTables: undefined,
        e820,
      };
    }
    return finishLinux64(memory, {
      format: 'elf',
      entry: elf.entry,
      setupHeader: undefined,
      cmdlineSize: DEFAULT_CMDLINE_MAX,
      kernel,
      initrd,
      cmdline: cmdlinePlace,
      gdtPlace,
      gdt,
      e820,
      rsdpAddress: options.rsdpAddress,
    });
  }

  if (isBzImage(kernelBytes)) {
    const image = parseBzImage(kernelBytes);
    const cmdline = encodeCmdline(options.cmdline, image.cmdlineSize);
    const loaded = loadBzImage(memory, kernelBytes, image, options.checkOnly);
    const kernel = { address: loaded.start, size: loaded.end - loaded.start };
    const initrd =
      initrdBytes &&
      placeInitrd(memory, initrdBytes, loaded.end, Math.min(image.initrdAddrMax, lowEnd - 1), lowEnd);
    const cmdlinePlace = writeCmdline(memory, cmdline);
    const gdt = writeGdt(memory);
    return finishLinux64(memory, {
      format: 'bzimage',
      entry: image.loadAddress + STARTUP_64_OFFSET,
      setupHeader: image.setupHeader,
      cmdlineSize: image.cmdlineSize,
      kernel,
      initrd,
      cmdline: cmdlinePlace,
      gdtPlace: { address: GDT_START, size: gdt.limit + 1 },
      gdt,
      e820,
      rsdpAddress: options.rsdpAddress,
    });
  }

  throw new KernelFormatError(
    `the kernel is not a format we can boot (an x86_64 ELF such as vmlinux, or a bzImage): ${describeStart(kernelHead(kernelBytes, 16))}`,
  );
}

interface Linux64Parts {
  format: KernelFormat;
  entry: number;
  setupHeader: Uint8Array | undefined;
  cmdlineSize: number;
  kernel: Placement;
  initrd: Placement | undefined;
  cmdline: Placement;
  gdtPlace: Placement;
  gdt: ReturnType<typeof writeGdt>;
  e820: E820Entry[];
  rsdpAddress: number | undefined;
}

function finishLinux64(memory: GuestMemory, p: Linux64Parts): BootPlan {
  const page = buildZeroPage({
    setupHeader: p.setupHeader,
    cmdlineAddress: p.cmdline.address,
    cmdlineSize: p.cmdlineSize,
    initrd: p.initrd,
    e820: p.e820,
    rsdpAddress: p.rsdpAddress,
  });
  writeZeroPage(memory, ZERO_PAGE_START, page);
  const cr3 = writeIdentityPageTables(memory);
  const { regs, sregs } = linux64BootRegisters(p.entry, ZERO_PAGE_START, p.gdt, cr3);
  return {
    format: p.format,
    entryKind: 'linux-64',
    entryAddress: p.entry,
    regs,
    sregs,
    kernel: p.kernel,
    initrd: p.initrd,
    cmdline: p.cmdline,
    bootInfo: { address: ZERO_PAGE_START, size: BOOT_PARAMS_SIZE },
    gdt: p.gdtPlace,
    pageTables: { address: PML4_START, size: PAGE_TABLES_END - PML4_START },
    e820: p.e820,
  };
}

/** The command line as bytes with its NUL; throws when longer than `maxLength` (NUL excluded). */
export function encodeCmdline(cmdline: string, maxLength: number): Uint8Array {
  const text = new TextEncoder().encode(cmdline);
  if (text.includes(0)) throw new CommandLineError('the kernel command line contains a NUL byte');
  const limit = Math.min(maxLength, CMDLINE_MAX_SIZE - 1);
  if (text.length > limit) {
    throw new CommandLineError(
      `the kernel command line is ${text.length} bytes and this kernel accepts at most ${limit}: shorten it`,
    );
  }
  const out = new Uint8Array(text.length + 1);
  out.set(text);
  return out;
}

function writeCmdline(memory: GuestMemory, bytes: Uint8Array): Placement {
  memory.write(CMDLINE_START, bytes);
  return { address: CMDLINE_START, size: bytes.length };
}

/**
 * Put the initrd as high as possible: its last byte at or below `maxAddress` (inclusive, as
 * boot.rst's initrd_addr_max) and below `lowEnd`, page-aligned, above the kernel's end.
 */
function placeInitrd(
  memory: GuestMemory,
  initrd: Uint8Array,
  kernelEnd: number,
  maxAddress: number,
  lowEnd: number,
): Placement {
  const top = Math.min(maxAddress + 1, lowEnd);
  const address = alignDown(top - initrd.length, PAGE_SIZE);
  const floor = alignUp(kernelEnd, PAGE_SIZE);
  if (address < floor || !memory.contains(address, initrd.length)) {
    const mib = (n: number) => `${(n / 0x100000).toFixed(1)} MiB`;
    throw new InitrdFitError(
      `the initrd (${mib(initrd.length)}) does not fit between the kernel's end (${mib(floor)}) and ` +
        `${mib(top)}, the highest address it may reach: give the VM more memory or use a smaller initrd`,
    );
  }
  memory.write(address, initrd);
  return { address, size: initrd.length };
}

/** "the file starts with 1f 8b 08 00 ... (gzip data: decompress it first)" */
function describeStart(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'the file is empty';
  const head = bytes.subarray(0, 16);
  const hex = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const ascii = Array.from(head, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  let hint = '';
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) hint = ': gzip data, decompress it first';
  else if (bytes[0] === 0xfd && bytes[1] === 0x37 && bytes[2] === 0x7a)
    hint = ': xz data, decompress it first';
  else if (bytes[0] === 0x4d && bytes[1] === 0x5a)
    hint = ': a PE/EFI executable without a Linux setup header';
  return `the file starts with ${hex} ("${ascii}")${hint}`;
}
