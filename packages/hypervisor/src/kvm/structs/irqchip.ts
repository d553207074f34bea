// struct kvm_irqchip (include/uapi/linux/kvm.h) with struct kvm_pic_state and struct
// kvm_ioapic_state (arch/x86/include/uapi/asm/kvm.h): one in-kernel interrupt controller's state,
// as KVM_GET_IRQCHIP and KVM_SET_IRQCHIP carry it. `chip_id` names the chip (KVM_IRQCHIP_*); the
// 512-byte union holds it. 8259A registers: Intel 8259A datasheet; IOAPIC: 82093AA datasheet §3.2.
import type { StructLayout } from './layout';

export const IRQCHIP_SIZE = 520;
export const IRQCHIP_LAYOUT: StructLayout = {
  cName: 'struct kvm_irqchip',
  size: IRQCHIP_SIZE,
  fields: { chip_id: 0, pad: 4, chip: 8 },
};

export const PIC_STATE_SIZE = 16;
export const PIC_STATE_LAYOUT: StructLayout = {
  cName: 'struct kvm_pic_state',
  size: PIC_STATE_SIZE,
  fields: { last_irr: 0, irr: 1, imr: 2, isr: 3, irq_base: 5, elcr: 14, elcr_mask: 15 },
};

export const IOAPIC_STATE_SIZE = 216;
export const IOAPIC_STATE_LAYOUT: StructLayout = {
  cName: 'struct kvm_ioapic_state',
  size: IOAPIC_STATE_SIZE,
  fields: { base_address: 0, ioregsel: 8, id: 12, irr: 16, pad: 20, redirtbl: 24 },
};

/** A kvm_irqchip asking KVM_GET_IRQCHIP for chip `chipId`. */
export function allocIrqchip(chipId: number): Uint8Array {
  const buf = new Uint8Array(IRQCHIP_SIZE);
  new DataView(buf.buffer).setUint32(IRQCHIP_LAYOUT.fields.chip_id!, chipId, true);
  return buf;
}

/** The chip_id of a kvm_irqchip. */
export function irqchipId(buf: Uint8Array): number {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(
    IRQCHIP_LAYOUT.fields.chip_id!,
    true,
  );
}

/** IOAPIC redirection table entry `pin` (a 64-bit value) of a kvm_irqchip holding the IOAPIC. */
export function ioapicRedirection(buf: Uint8Array, pin: number): bigint {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return v.getBigUint64(IRQCHIP_LAYOUT.fields.chip! + IOAPIC_STATE_LAYOUT.fields.redirtbl! + pin * 8, true);
}

/** The interrupt mask register of a kvm_irqchip holding a PIC. */
export function picImr(buf: Uint8Array): number {
  return buf[IRQCHIP_LAYOUT.fields.chip! + PIC_STATE_LAYOUT.fields.imr!]!;
}
