// struct kvm_lapic_state (arch/x86/include/uapi/asm/kvm.h): the 1 KiB local APIC register page.
// Register offsets and LVT fields: Intel SDM Vol. 3A §11.4.1 (Table 11-1) and §11.5.1.
import type { StructLayout } from './layout';

export const LAPIC_STATE_SIZE = 1024;
export const LAPIC_STATE_LAYOUT: StructLayout = {
  cName: 'struct kvm_lapic_state',
  size: LAPIC_STATE_SIZE,
  fields: { regs: 0 },
};

/** Spurious interrupt vector register: bit 8 software-enables the APIC. */
export const APIC_SPIV = 0x0f0;
export const APIC_LVT_LINT0 = 0x350;
export const APIC_LVT_LINT1 = 0x360;
/** The timer's current count (§10.5.4). */
export const APIC_TMCCT = 0x390;
/** LVT delivery mode, bits 8..10. */
const APIC_MODE_MASK = 0x700;
export const APIC_MODE_NMI = 0x400;
export const APIC_MODE_EXTINT = 0x700;

/** The register at `reg` of a register page. */
export function lapicRegister(v: DataView, reg: number): number {
  return v.getUint32(reg, true);
}

/** An LVT entry's delivery mode (APIC_MODE_*). */
export function lvtDeliveryMode(v: DataView, reg: number): number {
  return v.getUint32(reg, true) & APIC_MODE_MASK;
}

/** Sets an LVT entry's delivery mode, keeping its other bits. */
export function setLvtDeliveryMode(v: DataView, reg: number, mode: number): void {
  const old = v.getUint32(reg, true);
  v.setUint32(reg, (old & ~APIC_MODE_MASK) | mode, true);
}
