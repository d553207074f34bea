// struct kvm_userspace_memory_region (include/uapi/linux/kvm.h): one memory slot.
import type { StructLayout } from './layout';

export const USERSPACE_MEMORY_REGION_SIZE = 32;
export const USERSPACE_MEMORY_REGION_LAYOUT: StructLayout = {
  cName: 'struct kvm_userspace_memory_region',
  size: USERSPACE_MEMORY_REGION_SIZE,
  fields: { slot: 0, flags: 4, guest_phys_addr: 8, memory_size: 16, userspace_addr: 24 },
};

export interface MemorySlot {
  slot: number;
  flags: number;
  guestPhysAddr: number;
  memorySize: number;
  userspaceAddr: bigint;
}

export function writeUserspaceMemoryRegion(v: DataView, s: MemorySlot): void {
  v.setUint32(0, s.slot, true);
  v.setUint32(4, s.flags, true);
  v.setBigUint64(8, BigInt(s.guestPhysAddr), true);
  v.setBigUint64(16, BigInt(s.memorySize), true);
  v.setBigUint64(24, s.userspaceAddr, true);
}
