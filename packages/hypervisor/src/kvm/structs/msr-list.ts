// struct kvm_msr_list (arch/x86/include/uapi/asm/kvm.h): { __u32 nmsrs; __u32 indices[] }, what
// KVM_GET_MSR_INDEX_LIST fills: the MSRs KVM saves and restores for a vCPU. Too small a buffer
// gets E2BIG with nmsrs set to the count needed.
import type { StructLayout } from './layout';

export const MSR_LIST_HEADER_SIZE = 4;
export const MSR_LIST_LAYOUT: StructLayout = {
  cName: 'struct kvm_msr_list',
  size: MSR_LIST_HEADER_SIZE,
  fields: { nmsrs: 0, indices: 4 },
};

/** A kvm_msr_list with room for `capacity` indices, nmsrs set to it. */
export function allocMsrList(capacity: number): Uint8Array {
  const buf = new Uint8Array(MSR_LIST_HEADER_SIZE + capacity * 4);
  new DataView(buf.buffer).setUint32(0, capacity, true);
  return buf;
}

/** nmsrs of a kvm_msr_list (after E2BIG: the count KVM needs). */
export function msrListCount(buf: Uint8Array): number {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true);
}

/** The indices of a kvm_msr_list, at most as many as fit in the buffer. */
export function readMsrList(buf: Uint8Array): number[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Math.min(v.getUint32(0, true), (buf.byteLength - MSR_LIST_HEADER_SIZE) / 4);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(v.getUint32(MSR_LIST_HEADER_SIZE + i * 4, true));
  return out;
}
