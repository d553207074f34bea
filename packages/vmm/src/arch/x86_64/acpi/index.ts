// ACPI for the x86_64 machine: the tables the guest reads and the PM registers it writes.
export { AcpiTableError } from './errors';
export {
  type AcpiArea,
  type AcpiMachine,
  type AcpiTable,
  type AcpiTables,
  DEFAULT_ACPI_AREA,
  acpiTables,
  buildAcpiTables,
} from './tables';
export { type VirtioMmioAcpiDevice, VIRTIO_MMIO_HID } from './dsdt';
export { IOAPIC_GSI_BASE, IOAPIC_ID, IOAPIC_PINS } from './madt';
export {
  ACPI_PM_PORT_BASE,
  ACPI_PM_PORT_COUNT,
  RESET_PORT,
  RESET_VALUE,
  S5_SLP_TYP,
  SLEEP_CONTROL_PORT,
  SLEEP_STATUS_PORT,
  SLP_EN,
  SLP_TYP_MASK,
  SLP_TYP_SHIFT,
  WAK_STS,
} from './registers';
