// The x86_64 machine's guest-physical address map, in one place. Every other module takes its
// addresses from here. The low-memory placement follows Firecracker's arch/x86_64/layout.rs; the
// 32-bit hole follows QEMU's microvm (hw/i386/microvm.c).
//
//   0x0000_0000  real-mode IVT and BDA (left alone)
//   0x0000_0500  GDT                              (gdt.ts)
//   0x0000_6000  hvm_start_info, modlist, memmap  (start-info.ts, PVH entry)
//   0x0000_7000  boot_params ("zero page")        (zero-page.ts, Linux 64-bit entry)
//   0x0000_8ff0  initial stack pointer (grows down, below the page tables)
//   0x0000_9000  PML4, PDPT, 4 PDs                (paging.ts)
//   0x0002_0000  kernel command line
//   0x0009_fc00  EBDA .. 0x0010_0000: reserved in the E820 map; ACPI tables at 0xe0000
//   0x0010_0000  kernel (ELF segments; a bzImage goes to its pref_address)
//   ...          initrd at the top of low RAM
//   0xc000_0000  .. 0x1_0000_0000: the 32-bit hole (MMIO, never RAM)
//   0xd000_0000  virtio-mmio slots, 512 bytes each
//   0xfec0_0000  IOAPIC
//   0xfee0_0000  LAPIC
//   0x1_0000_0000  RAM that does not fit below the hole

import { PAGE_SIZE, VmmError } from '@vmm/hypervisor';
import { MMIO_SLOT_SIZE } from '@vmm/virtio';

export { PAGE_SIZE };

/** GDT (gdt.ts): 5 descriptors of 8 bytes. */
export const GDT_START = 0x500;
/** IDT: an empty table (limit 0); Linux loads its own before enabling interrupts. */
export const IDT_START = 0x520;

/** hvm_start_info (56 bytes), then the module list, then the memory map (PVH boot). */
export const PVH_START_INFO_START = 0x6000;
export const PVH_MODLIST_START = 0x6040;
export const PVH_MODLIST_MAX_ENTRIES = 4;
export const PVH_MEMMAP_START = 0x6100;
export const PVH_MEMMAP_MAX_ENTRIES = (0x7000 - PVH_MEMMAP_START) / 24;

/** struct boot_params, one page (Linux 64-bit boot protocol). */
export const ZERO_PAGE_START = 0x7000;

/** The initial RSP/RBP of the boot vCPU (16-byte aligned, below the page tables). */
export const BOOT_STACK_POINTER = 0x8ff0;

/** Identity page tables for the first 4 GiB: PML4, PDPT, then 4 page directories of 2 MiB pages. */
export const PML4_START = 0x9000;
export const PDPT_START = 0xa000;
export const PD_START = 0xb000;
export const PD_COUNT = 4;
export const PAGE_TABLES_END = PD_START + PD_COUNT * PAGE_SIZE;

/** The kernel command line, NUL-terminated; at most CMDLINE_MAX_SIZE bytes including the NUL. */
export const CMDLINE_START = 0x20000;
export const CMDLINE_MAX_SIZE = 0x1000;

/** Extended BIOS data area and the legacy BIOS/VGA window: reserved in the E820 map. */
export const EBDA_START = 0x9fc00;
/** ACPI tables (another module builds them): RSDP first, the rest after it, up to 1 MiB. */
export const ACPI_START = 0xe0000;
export const ACPI_END = 0x100000;

/** First byte above the legacy area: kernels load here or higher. */
export const HIMEM_START = 0x100000;

/** The 32-bit MMIO hole: never RAM. */
export const MMIO_HOLE_START = 0xc000_0000;
export const MMIO_HOLE_END = 0x1_0000_0000;

/** virtio-mmio devices: slot i at VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SLOT_SIZE. */
export const VIRTIO_MMIO_BASE = 0xd000_0000;
export const VIRTIO_MMIO_SLOT_SIZE = MMIO_SLOT_SIZE;
export const VIRTIO_MMIO_MAX_SLOTS = 64;

/** IOAPIC and local APIC register windows (Intel SDM vol. 3 §10.4.1; 82093AA datasheet). */
export const IOAPIC_START = 0xfec0_0000;
export const IOAPIC_SIZE = 0x1000;
export const LAPIC_START = 0xfee0_0000;
export const LAPIC_SIZE = 0x1000;

/** Guest RAM that does not fit below the hole continues here. */
export const HIGH_RAM_START = MMIO_HOLE_END;

/** The address of virtio-mmio slot `index`. */
export function virtioMmioSlotAddress(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= VIRTIO_MMIO_MAX_SLOTS) {
    throw new VmmError(
      'EVIRTIOSLOT',
      `virtio-mmio slot ${index} does not exist: the machine has slots 0..${VIRTIO_MMIO_MAX_SLOTS - 1}`,
    );
  }
  return VIRTIO_MMIO_BASE + index * VIRTIO_MMIO_SLOT_SIZE;
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

export function alignDown(value: number, alignment: number): number {
  return Math.floor(value / alignment) * alignment;
}
