// struct kvm_ioeventfd (include/uapi/linux/kvm.h): a guest write to an address signals an eventfd.
import type { StructLayout } from './layout';

export const IOEVENTFD_SIZE = 64;
export const IOEVENTFD_LAYOUT: StructLayout = {
  cName: 'struct kvm_ioeventfd',
  size: IOEVENTFD_SIZE,
  fields: { datamatch: 0, addr: 8, len: 16, fd: 20, flags: 24, pad: 28 },
};

export interface IoEventFd {
  datamatch: bigint;
  addr: number;
  len: number;
  fd: number;
  flags: number;
}

export function encodeIoeventfd(e: IoEventFd): Uint8Array {
  const buf = new Uint8Array(IOEVENTFD_SIZE);
  const v = new DataView(buf.buffer);
  v.setBigUint64(0, e.datamatch, true);
  v.setBigUint64(8, BigInt(e.addr), true);
  v.setUint32(16, e.len, true);
  v.setInt32(20, e.fd, true);
  v.setUint32(24, e.flags, true);
  return buf;
}
