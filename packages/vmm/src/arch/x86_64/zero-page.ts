// struct boot_params, the "zero page" of the Linux x86 boot protocol: Linux
// arch/x86/include/uapi/asm/bootparam.h and Documentation/arch/x86/zero-page.rst (6.1:
// Documentation/x86/zero-page.rst). The setup header inside it (struct setup_header, at 0x1f1) is
// Documentation/arch/x86/boot.rst; a bzImage holds the same header at the same file offsets, so
// bzimage.ts reads the file with these offsets too.
import { VmmError, type GuestMemory } from '@vmm/hypervisor';
import { KernelImageError } from './errors';
import type { E820Entry } from './memory-map';

export const BOOT_PARAMS_SIZE = 0x1000;

/** Offsets in struct boot_params. */
export const BP_ACPI_RSDP_ADDR = 0x070; // u64
export const BP_EXT_RAMDISK_IMAGE = 0x0c0; // u32
export const BP_EXT_RAMDISK_SIZE = 0x0c4; // u32
export const BP_EXT_CMD_LINE_PTR = 0x0c8; // u32
export const BP_E820_ENTRIES = 0x1e8; // u8
export const BP_SENTINEL = 0x1ef; // u8
export const BP_HDR = 0x1f1; // struct setup_header
export const BP_HDR_LIMIT = 0x290; // the header (with its _pad7) ends here: edd_mbr_sig_buffer follows
export const BP_E820_TABLE = 0x2d0; // struct boot_e820_entry[128]
export const E820_MAX_ENTRIES_ZEROPAGE = 128;
export const BOOT_E820_ENTRY_SIZE = 20; // u64 addr, u64 size, u32 type (packed)

/** Offsets of struct setup_header fields, counted from the start of boot_params (and of a bzImage). */
export const HDR_SETUP_SECTS = 0x1f1; // u8
export const HDR_VID_MODE = 0x1fa; // u16
export const HDR_BOOT_FLAG = 0x1fe; // u16, 0xaa55
export const HDR_JUMP = 0x200; // u16; its high byte + 0x202 = end of the setup header
export const HDR_HEADER = 0x202; // u32, "HdrS"
export const HDR_VERSION = 0x206; // u16
export const HDR_TYPE_OF_LOADER = 0x210; // u8
export const HDR_LOADFLAGS = 0x211; // u8
export const HDR_CODE32_START = 0x214; // u32
export const HDR_RAMDISK_IMAGE = 0x218; // u32
export const HDR_RAMDISK_SIZE = 0x21c; // u32
export const HDR_CMD_LINE_PTR = 0x228; // u32
export const HDR_INITRD_ADDR_MAX = 0x22c; // u32
export const HDR_KERNEL_ALIGNMENT = 0x230; // u32
export const HDR_RELOCATABLE_KERNEL = 0x234; // u8
export const HDR_XLOADFLAGS = 0x236; // u16
export const HDR_CMDLINE_SIZE = 0x238; // u32
export const HDR_PREF_ADDRESS = 0x258; // u64
export const HDR_INIT_SIZE = 0x260; // u32

export const BOOT_FLAG_MAGIC = 0xaa55;
export const HDRS_MAGIC = 0x53726448; // "HdrS"
export const LOADED_HIGH = 0x01;
export const XLF_KERNEL_64 = 0x01;
/** type_of_loader 0xff: "undefined" boot loader (boot.rst). */
export const LOADER_TYPE_UNDEFINED = 0xff;
/** vid_mode 0xffff: "normal" (boot.rst, "vid_mode"). */
export const VID_MODE_NORMAL = 0xffff;

/** What we declare in a zero page built from scratch (an ELF kernel has no setup header). */
const SYNTHETIC_VERSION = 0x020f;
const SYNTHETIC_KERNEL_ALIGNMENT = 0x100_0000;
const SYNTHETIC_CMDLINE_SIZE = 2047;

export interface ZeroPageInput {
  /** The kernel's setup header, file bytes [0x1f1, end of header); absent for an ELF kernel. */
  setupHeader?: Uint8Array;
  cmdlineAddress: number;
  /** The command line's length without its NUL (declared as cmdline_size in a synthetic header). */
  cmdlineSize?: number;
  initrd?: { address: number; size: number };
  e820: readonly E820Entry[];
  /** Physical address of the ACPI RSDP (protocol 2.14 acpi_rsdp_addr); 0 or absent: none. */
  rsdpAddress?: number;
}

/** Build the boot_params page in host memory. */
export function buildZeroPage(input: ZeroPageInput): Uint8Array {
  const page = new Uint8Array(BOOT_PARAMS_SIZE);
  const view = new DataView(page.buffer);
  if (input.setupHeader) {
    if (BP_HDR + input.setupHeader.length > BP_HDR_LIMIT) {
      throw new KernelImageError(`bzImage: its setup header (${input.setupHeader.length} bytes) is too long`);
    }
    page.set(input.setupHeader, BP_HDR);
  } else {
    view.setUint16(HDR_BOOT_FLAG, BOOT_FLAG_MAGIC, true);
    view.setUint32(HDR_HEADER, HDRS_MAGIC, true);
    view.setUint16(HDR_VERSION, SYNTHETIC_VERSION, true);
    view.setUint8(HDR_LOADFLAGS, LOADED_HIGH);
    view.setUint32(HDR_KERNEL_ALIGNMENT, SYNTHETIC_KERNEL_ALIGNMENT, true);
    view.setUint32(HDR_CMDLINE_SIZE, input.cmdlineSize ?? SYNTHETIC_CMDLINE_SIZE, true);
  }
  view.setUint8(BP_SENTINEL, 0);
  view.setUint8(HDR_TYPE_OF_LOADER, LOADER_TYPE_UNDEFINED);
  view.setUint16(HDR_VID_MODE, VID_MODE_NORMAL, true);
  setSplit32(view, HDR_CMD_LINE_PTR, BP_EXT_CMD_LINE_PTR, input.cmdlineAddress);
  if (input.initrd) {
    setSplit32(view, HDR_RAMDISK_IMAGE, BP_EXT_RAMDISK_IMAGE, input.initrd.address);
    setSplit32(view, HDR_RAMDISK_SIZE, BP_EXT_RAMDISK_SIZE, input.initrd.size);
  }
  view.setBigUint64(BP_ACPI_RSDP_ADDR, BigInt(input.rsdpAddress ?? 0), true);
  if (input.e820.length > E820_MAX_ENTRIES_ZEROPAGE) {
    throw new VmmError('EE820', `${input.e820.length} E820 entries do not fit the zero page (at most 128)`);
  }
  view.setUint8(BP_E820_ENTRIES, input.e820.length);
  input.e820.forEach((e, i) => {
    const at = BP_E820_TABLE + i * BOOT_E820_ENTRY_SIZE;
    view.setBigUint64(at, BigInt(e.addr), true);
    view.setBigUint64(at + 8, BigInt(e.size), true);
    view.setUint32(at + 16, e.type, true);
  });
  return page;
}

export function writeZeroPage(memory: GuestMemory, address: number, page: Uint8Array): void {
  memory.write(address, page);
}

/** A 64-bit value split into a low u32 field and an ext_* high u32 field. */
function setSplit32(view: DataView, lowAt: number, highAt: number, value: number): void {
  view.setUint32(lowAt, value % 0x1_0000_0000, true);
  view.setUint32(highAt, Math.floor(value / 0x1_0000_0000), true);
}
