// The ACPI power-management device of a hardware-reduced platform: the Sleep Control, Sleep Status
// and Reset registers the FADT names (ACPI 6.5 §4.8.3.6 and §4.8.3.7; ports and bits in
// arch/x86_64/acpi/registers.ts). Writing SLP_EN with SLP_TYP = S5 powers off; writing RESET_VALUE
// to the reset register resets; reading the GED's event register takes the events the main
// thread raised (the power button). Everything else is accepted and ignored (we implement no
// sleep states, and the DSDT offers the guest none but S5).
import {
  GED_EVENT_PORT,
  ACPI_PM_PORT_BASE,
  ACPI_PM_PORT_COUNT,
  RESET_PORT,
  RESET_VALUE,
  S5_SLP_TYP,
  SLEEP_CONTROL_PORT,
  SLP_EN,
  SLP_TYP_MASK,
  SLP_TYP_SHIFT,
} from '../arch/x86_64/acpi/registers';
import type { PioDevice } from './pio-bus';

export type AcpiPmEvent = 'poweroff' | 'reset';

export class AcpiPmDevice implements PioDevice {
  /** The ports to attach it to on the port bus: [base, base + count). */
  static readonly portBase = ACPI_PM_PORT_BASE;
  static readonly portCount = ACPI_PM_PORT_COUNT;

  /**
   * @param gedEvents the GED's pending events, one Int32 word shared by every vCPU thread and the
   *   main thread (which sets bits with Atomics.or, then raises the GED's interrupt)
   */
  constructor(
    private readonly onEvent: (event: AcpiPmEvent) => void,
    private readonly gedEvents?: Int32Array,
  ) {}

  /**
   * The GED's event register reads and clears the pending events (a byte). Every other register
   * reads as 0: Sleep Status never shows WAK_STS (the machine never wakes from a sleep state: S5
   * ends it), and the control and reset registers are write-only.
   */
  pioRead(port: number, data: Uint8Array): void {
    data.fill(0);
    const at = GED_EVENT_PORT - port;
    if (this.gedEvents && at >= 0 && at < data.length)
      data[at] = Atomics.exchange(this.gedEvents, 0, 0) & 0xff;
  }

  /** A wider access covers the registers at port, port+1, ...: each byte goes to its register. */
  pioWrite(port: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.writeRegister((port + i) & 0xffff, data[i]!);
  }

  private writeRegister(port: number, value: number): void {
    if (port === SLEEP_CONTROL_PORT) {
      if ((value & SLP_EN) !== 0 && (value & SLP_TYP_MASK) >> SLP_TYP_SHIFT === S5_SLP_TYP)
        this.onEvent('poweroff');
    } else if (port === RESET_PORT) {
      if (value === RESET_VALUE) this.onEvent('reset');
    }
  }
}
