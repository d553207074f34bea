// Typed errors of the ACPI table builder: each names what went wrong, why, and what to do.
import { VmmError } from '@vmm/hypervisor';

/** The machine description cannot be expressed in ACPI tables (a name, number or range is invalid). */
export class AcpiTableError extends VmmError {
  constructor(message: string) {
    super('EACPITABLE', message);
  }
}
