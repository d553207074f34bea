// bzImage kernels: the real-mode setup header of Documentation/arch/x86/boot.rst (6.1:
// Documentation/x86/boot.rst), read for the 64-bit boot protocol. The setup code (setup_sects
// sectors after the boot sector) is not used; the protected-mode kernel after it is loaded at its
// runtime start address and entered at that address + 0x200 (startup_64).
import type { GuestMemory } from '@vmm/hypervisor';
import { KernelFitError, KernelImageError, KernelUnsupportedError } from './errors';
import { ImageBytes } from './image-bytes';
import { copyKernelToGuest, kernelHead, type KernelInput } from './kernel-source';
import { HIMEM_START, alignUp } from './layout';
import {
  BP_HDR,
  BP_HDR_LIMIT,
  HDR_CMDLINE_SIZE,
  HDR_CODE32_START,
  HDR_HEADER,
  HDR_INIT_SIZE,
  HDR_INITRD_ADDR_MAX,
  HDR_JUMP,
  HDR_KERNEL_ALIGNMENT,
  HDR_LOADFLAGS,
  HDR_PREF_ADDRESS,
  HDR_RELOCATABLE_KERNEL,
  HDR_SETUP_SECTS,
  HDR_VERSION,
  HDR_XLOADFLAGS,
  HDRS_MAGIC,
  LOADED_HIGH,
  XLF_KERNEL_64,
} from './zero-page';

const SECTOR_SIZE = 512;
/** setup_sects 0 means 4 (boot.rst, "setup_sects"). */
const DEFAULT_SETUP_SECTS = 4;
/** We need protocol 2.12: xloadflags (2.12), pref_address and init_size (2.10), cmdline_size (2.06). */
export const MIN_BOOT_PROTOCOL = 0x020c;
/** boot.rst "64-bit Boot Protocol": the 64-bit entry is the load address + 0x200. */
export const STARTUP_64_OFFSET = 0x200;

export interface BzImage {
  /** Boot protocol version, e.g. 0x020f for 2.15. */
  version: number;
  /** The setup header bytes [0x1f1, 0x202 + jump's high byte), to copy into the zero page. */
  setupHeader: Uint8Array;
  /** The protected-mode kernel: the bytes after the setup sectors, [kernelOffset, file's end). */
  kernelOffset: number;
  kernelSize: number;
  /** Where the kernel runs (runtime start address per boot.rst "init_size"). */
  loadAddress: number;
  /** Memory from loadAddress the kernel needs before it reads the memory map. */
  initSize: number;
  /** The highest address the initrd may occupy (inclusive). */
  initrdAddrMax: number;
  /** The longest command line without its NUL. */
  cmdlineSize: number;
}

export function isBzImage(input: KernelInput): boolean {
  const head = kernelHead(input, HDR_HEADER + 4);
  return (
    head.length >= HDR_HEADER + 4 &&
    new DataView(head.buffer, head.byteOffset + HDR_HEADER, 4).getUint32(0, true) === HDRS_MAGIC
  );
}

/** Parse a bzImage's setup header. Throws KernelImageError / KernelUnsupportedError, nothing else. */
export function parseBzImage(input: KernelInput): BzImage {
  const file = new ImageBytes(input, 'bzImage');
  const fileSize = file.length;
  if (file.u32(HDR_HEADER, 'the "HdrS" magic') !== HDRS_MAGIC) {
    throw new KernelImageError(
      'bzImage: no "HdrS" magic at offset 0x202: this is not a Linux x86 kernel image',
    );
  }
  const version = file.u16(HDR_VERSION, 'version');
  const versionText = `${version >> 8}.${(version & 0xff).toString().padStart(2, '0')}`;
  if (version < MIN_BOOT_PROTOCOL) {
    throw new KernelUnsupportedError(
      `bzImage: boot protocol ${versionText} is older than 2.12: use a Linux 3.8 or newer kernel`,
    );
  }
  if ((file.u8(HDR_LOADFLAGS, 'loadflags') & LOADED_HIGH) === 0) {
    throw new KernelUnsupportedError(
      'bzImage: LOADED_HIGH is clear: a zImage loaded at 0x10000 is not supported',
    );
  }
  if ((file.u16(HDR_XLOADFLAGS, 'xloadflags') & XLF_KERNEL_64) === 0) {
    throw new KernelUnsupportedError(
      'bzImage: XLF_KERNEL_64 is clear, so it has no 64-bit entry point: build an x86_64 kernel',
    );
  }
  const headerEnd = 0x202 + file.u8(HDR_JUMP + 1, 'jump');
  if (headerEnd > BP_HDR_LIMIT) {
    throw new KernelImageError(
      `bzImage: the setup header claims to end at 0x${headerEnd.toString(16)}, past 0x290`,
    );
  }
  const setupHeader = file.slice(BP_HDR, headerEnd - BP_HDR, 'setup header');
  const setupSects = file.u8(HDR_SETUP_SECTS, 'setup_sects') || DEFAULT_SETUP_SECTS;
  const kernelOffset = (setupSects + 1) * SECTOR_SIZE;
  if (kernelOffset >= fileSize) {
    throw new KernelImageError(
      `bzImage: the ${setupSects} setup sectors reach the end of the ${fileSize}-byte file: ` +
        'the file is truncated',
    );
  }
  const kernelSize = fileSize - kernelOffset;

  const alignment = file.u32(HDR_KERNEL_ALIGNMENT, 'kernel_alignment');
  const relocatable = file.u8(HDR_RELOCATABLE_KERNEL, 'relocatable_kernel') !== 0;
  const pref = file.u64(HDR_PREF_ADDRESS, 'pref_address');
  const code32 = file.u32(HDR_CODE32_START, 'code32_start');
  let loadAddress = pref || code32;
  if (relocatable) {
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
      throw new KernelImageError(
        `bzImage: kernel_alignment 0x${alignment.toString(16)} is not a power of two`,
      );
    }
    loadAddress = alignUp(Math.max(loadAddress, HIMEM_START), alignment);
  }
  if (loadAddress < HIMEM_START) {
    throw new KernelUnsupportedError(
      `bzImage: it must run at 0x${loadAddress.toString(16)}, below 1 MiB where the boot structures are`,
    );
  }
  return {
    version,
    setupHeader,
    kernelOffset,
    kernelSize,
    loadAddress,
    initSize: Math.max(file.u32(HDR_INIT_SIZE, 'init_size'), kernelSize),
    initrdAddrMax: file.u32(HDR_INITRD_ADDR_MAX, 'initrd_addr_max'),
    cmdlineSize: file.u32(HDR_CMDLINE_SIZE, 'cmdline_size'),
  };
}

/**
 * Copy the protected-mode kernel to its load address after checking that init_size bytes from
 * there lie in RAM below the hole. Returns the range the kernel may use before it reads the memory map.
 */
export function loadBzImage(
  memory: GuestMemory,
  input: KernelInput,
  image: BzImage,
  checkOnly = false,
): { start: number; end: number } {
  const end = image.loadAddress + image.initSize;
  if (!memory.contains(image.loadAddress, image.initSize)) {
    throw new KernelFitError(
      `bzImage: the kernel needs 0x${image.loadAddress.toString(16)}..0x${end.toString(16)} ` +
        `(init_size ${Math.ceil(image.initSize / 0x100000)} MiB) in RAM, and guest RAM is ` +
        `${Math.floor(memory.totalSize / 0x100000)} MiB: give the VM more memory`,
    );
  }
  copyKernelToGuest(memory, image.loadAddress, input, image.kernelOffset, image.kernelSize, checkOnly);
  return { start: image.loadAddress, end };
}
