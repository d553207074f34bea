// struct kvm_irq_level (include/uapi/linux/kvm.h): KVM_IRQ_LINE's { union { irq; status }; level }.
import type { StructLayout } from './layout';

export const IRQ_LEVEL_SIZE = 8;
export const IRQ_LEVEL_LAYOUT: StructLayout = {
  cName: 'struct kvm_irq_level',
  size: IRQ_LEVEL_SIZE,
  fields: { irq: 0, status: 0, level: 4 },
};

export function writeIrqLevel(v: DataView, irq: number, level: boolean): void {
  v.setUint32(0, irq, true);
  v.setUint32(4, level ? 1 : 0, true);
}
