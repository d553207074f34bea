// The Multiple APIC Description Table (ACPI 6.5 §5.2.12) of the x86_64 machine:
// one enabled Processor Local APIC per vCPU (APIC ID = vCPU index, as cpuid.ts sets it), the
// in-kernel IOAPIC, the ISA timer override and the LINT1 NMI wiring. Linux reads nothing else.
import { MAX_VCPUS } from '../cpuid';
import { IOAPIC_START, LAPIC_START } from '../layout';
import { AcpiTableError } from './errors';
import { newSdt, sealSdt } from './sdt';

/** MADT revision of ACPI 6.5. */
export const MADT_REVISION = 6;

// Table fields after the header (ACPI 6.5 §5.2.12, "MADT Format").
const LOCAL_INTERRUPT_CONTROLLER_ADDRESS = 36;
const FLAGS = 40;
export const MADT_ENTRIES_OFFSET = 44;
/** Multiple APIC flags (§5.2.12): the machine also has dual 8259s (KVM's in-kernel PIC). */
export const MADT_PCAT_COMPAT = 1;

// Interrupt controller structure types (ACPI 6.5 §5.2.12) and their lengths.
export const MADT_TYPE_LOCAL_APIC = 0;
export const MADT_TYPE_IO_APIC = 1;
export const MADT_TYPE_INTERRUPT_SOURCE_OVERRIDE = 2;
export const MADT_TYPE_LOCAL_APIC_NMI = 4;
const LOCAL_APIC_LENGTH = 8; // §5.2.12.2
const IO_APIC_LENGTH = 12; // §5.2.12.3
const INTERRUPT_SOURCE_OVERRIDE_LENGTH = 10; // §5.2.12.5
const LOCAL_APIC_NMI_LENGTH = 6; // §5.2.12.7

/** Local APIC flags (§5.2.12.2): bit 0 Enabled. */
export const LOCAL_APIC_ENABLED = 1;
/** MPS INTI flags (§5.2.12.5): 0 = polarity and trigger mode conform to the bus. */
const MPS_INTI_CONFORMS = 0;
/** "All processors" in a Local APIC NMI structure (§5.2.12.7). */
const ALL_PROCESSORS = 0xff;

/** The IOAPIC: ID 0 (what KVM's in-kernel IOAPIC reports), GSIs 0..23 (KVM_IOAPIC_NUM_PINS). */
export const IOAPIC_ID = 0;
export const IOAPIC_GSI_BASE = 0;
export const IOAPIC_PINS = 24;

/** ISA IRQ 0 (the PIT) arrives on IOAPIC pin 2, as on every PC since the IOAPIC (MP spec §5.3). */
const ISA_TIMER_IRQ = 0;
const ISA_TIMER_GSI = 2;

export interface MadtOptions {
  /** Number of vCPUs, 1..MAX_VCPUS; vCPU i has ACPI processor UID i and APIC ID i. */
  cpus: number;
}

export function buildMadt(options: MadtOptions): Uint8Array {
  const { cpus } = options;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_VCPUS) {
    throw new AcpiTableError(`cannot describe ${cpus} vCPUs in the MADT: give 1 to ${MAX_VCPUS}`);
  }
  const length =
    MADT_ENTRIES_OFFSET +
    cpus * LOCAL_APIC_LENGTH +
    IO_APIC_LENGTH +
    INTERRUPT_SOURCE_OVERRIDE_LENGTH +
    LOCAL_APIC_NMI_LENGTH;
  const { bytes, view } = newSdt('APIC', MADT_REVISION, length);
  view.setUint32(LOCAL_INTERRUPT_CONTROLLER_ADDRESS, LAPIC_START, true);
  view.setUint32(FLAGS, MADT_PCAT_COMPAT, true);
  let at = MADT_ENTRIES_OFFSET;

  for (let cpu = 0; cpu < cpus; cpu++) {
    // Processor Local APIC (§5.2.12.2): type, length, ACPI processor UID, APIC ID, flags.
    view.setUint8(at, MADT_TYPE_LOCAL_APIC);
    view.setUint8(at + 1, LOCAL_APIC_LENGTH);
    view.setUint8(at + 2, cpu);
    view.setUint8(at + 3, cpu);
    view.setUint32(at + 4, LOCAL_APIC_ENABLED, true);
    at += LOCAL_APIC_LENGTH;
  }

  // I/O APIC (§5.2.12.3): type, length, ID, reserved, address, GSI base.
  view.setUint8(at, MADT_TYPE_IO_APIC);
  view.setUint8(at + 1, IO_APIC_LENGTH);
  view.setUint8(at + 2, IOAPIC_ID);
  view.setUint32(at + 4, IOAPIC_START, true);
  view.setUint32(at + 8, IOAPIC_GSI_BASE, true);
  at += IO_APIC_LENGTH;

  // Interrupt Source Override (§5.2.12.5): type, length, bus (0 = ISA), source IRQ, GSI, flags.
  view.setUint8(at, MADT_TYPE_INTERRUPT_SOURCE_OVERRIDE);
  view.setUint8(at + 1, INTERRUPT_SOURCE_OVERRIDE_LENGTH);
  view.setUint8(at + 2, 0);
  view.setUint8(at + 3, ISA_TIMER_IRQ);
  view.setUint32(at + 4, ISA_TIMER_GSI, true);
  view.setUint16(at + 8, MPS_INTI_CONFORMS, true);
  at += INTERRUPT_SOURCE_OVERRIDE_LENGTH;

  // Local APIC NMI (§5.2.12.7): every CPU's LINT1 is the NMI input (Vcpu.setLapicDefaults).
  view.setUint8(at, MADT_TYPE_LOCAL_APIC_NMI);
  view.setUint8(at + 1, LOCAL_APIC_NMI_LENGTH);
  view.setUint8(at + 2, ALL_PROCESSORS);
  view.setUint16(at + 3, MPS_INTI_CONFORMS, true);
  view.setUint8(at + 5, 1); // LINT1
  at += LOCAL_APIC_NMI_LENGTH;

  return sealSdt(bytes);
}
