// struct kvm_signal_mask (include/uapi/linux/kvm.h): { __u32 len; __u8 sigset[] }, the signal
// mask the vCPU thread has while inside KVM_RUN. len is the kernel's sigset size (8 on x86_64).
import type { StructLayout } from './layout';

export const SIGNAL_MASK_HEADER_SIZE = 4;
export const SIGNAL_MASK_LAYOUT: StructLayout = {
  cName: 'struct kvm_signal_mask',
  size: SIGNAL_MASK_HEADER_SIZE,
  fields: { len: 0, sigset: 4 },
};

export function encodeSignalMask(kernelSigset: Uint8Array): Uint8Array {
  const buf = new Uint8Array(SIGNAL_MASK_HEADER_SIZE + kernelSigset.length);
  new DataView(buf.buffer).setUint32(0, kernelSigset.length, true);
  buf.set(kernelSigset, SIGNAL_MASK_HEADER_SIZE);
  return buf;
}
