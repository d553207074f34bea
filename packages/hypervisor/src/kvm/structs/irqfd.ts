// struct kvm_irqfd (include/uapi/linux/kvm.h): an eventfd that raises a GSI.
import type { StructLayout } from './layout';

export const IRQFD_SIZE = 32;
export const IRQFD_LAYOUT: StructLayout = {
  cName: 'struct kvm_irqfd',
  size: IRQFD_SIZE,
  fields: { fd: 0, gsi: 4, flags: 8, resamplefd: 12, pad: 16 },
};

export function encodeIrqfd(fd: number, gsi: number, flags: number): Uint8Array {
  const buf = new Uint8Array(IRQFD_SIZE);
  const v = new DataView(buf.buffer);
  v.setUint32(0, fd, true);
  v.setUint32(4, gsi, true);
  v.setUint32(8, flags, true);
  return buf;
}
