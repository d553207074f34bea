// From the RAM size: the guest-physical ranges to back with RAM, and the E820 map the guest sees
// (E820 types: enum e820_type in Linux arch/x86/include/asm/e820/types.h; the same numbers are
// XEN_HVM_MEMMAP_TYPE_* in xen/include/public/arch-x86/hvm/start_info.h).
import type { MemoryLayout } from '@vmm/hypervisor';
import { MemorySizeError } from './errors';
import { EBDA_START, HIGH_RAM_START, HIMEM_START, MMIO_HOLE_START, PAGE_SIZE } from './layout';

export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;
export const E820_NVS = 4;
export const E820_UNUSABLE = 5;

export interface E820Entry {
  addr: number;
  size: number;
  type: number;
}

/** The smallest guest we build: room for the boot structures, a small kernel and its initrd. */
export const MIN_RAM_SIZE = 16 * 1024 * 1024;
/** The largest: 1 TiB, well inside the 39+ physical address bits of every host we run on. */
export const MAX_RAM_SIZE = 1024 * 1024 * 1024 * 1024;

const MIB = 1024 * 1024;

export function checkRamSize(ramSize: number): void {
  if (!Number.isSafeInteger(ramSize) || ramSize % PAGE_SIZE !== 0) {
    throw new MemorySizeError(
      `memory size ${ramSize} is not a whole number of 4 KiB pages: give the size in MiB or GiB (e.g. 512M)`,
    );
  }
  if (ramSize < MIN_RAM_SIZE) {
    throw new MemorySizeError(
      `memory size ${ramSize / MIB} MiB is too small: a guest needs at least ${MIN_RAM_SIZE / MIB} MiB ` +
        '(Linux guests want 64 MiB or more)',
    );
  }
  if (ramSize > MAX_RAM_SIZE) {
    throw new MemorySizeError(`memory size ${ramSize / MIB} MiB is too large: the limit is 1 TiB`);
  }
}

/** RAM below the 32-bit hole, in bytes. */
export function lowRamSize(ramSize: number): number {
  return Math.min(ramSize, MMIO_HOLE_START);
}

/** The guest-physical ranges to back with RAM: [0, low) and, when RAM crosses the hole, [4 GiB, ...). */
export function memoryLayout(ramSize: number): MemoryLayout {
  checkRamSize(ramSize);
  const low = lowRamSize(ramSize);
  const ranges = [{ gpa: 0, size: low }];
  if (ramSize > low) ranges.push({ gpa: HIGH_RAM_START, size: ramSize - low });
  return { ranges };
}

/** The E820 map: sorted, non-overlapping; the legacy area reserved; nothing in the hole. */
export function e820Map(ramSize: number): E820Entry[] {
  checkRamSize(ramSize);
  const low = lowRamSize(ramSize);
  const map: E820Entry[] = [
    { addr: 0, size: EBDA_START, type: E820_RAM },
    { addr: EBDA_START, size: HIMEM_START - EBDA_START, type: E820_RESERVED },
    { addr: HIMEM_START, size: low - HIMEM_START, type: E820_RAM },
  ];
  if (ramSize > low) map.push({ addr: HIGH_RAM_START, size: ramSize - low, type: E820_RAM });
  return map;
}
