// The machine's ACPI power-management registers: where they are and what their bits mean. The FADT
// (fadt.ts) points the guest at them; the device (devices/acpi-pm.ts) implements them.
//
// A hardware-reduced platform has no PM1 blocks; instead the FADT names a Sleep Control and a
// Sleep Status register (ACPI 6.5 §4.8.3.7) and a Reset Register
// (§4.8.3.6). We put them in I/O space, one byte each, at 0x600..0x602:
// - I/O space (not MMIO) because a port write exits on every hypervisor with the port and value in
//   hand, needs no MMIO slot, and is one instruction for a freestanding test guest;
// - 0x600 because it is where PC chipsets put their ACPI PM block (QEMU's PIIX4 and ICH9 use
//   0x600 too), so no ISA device Linux probes and no legacy port our machine emulates sits there;
// - separate ports for control, status and reset so each register is plain to read in a trace.

/** Sleep Control register (write-only for the guest): SLP_TYPx and SLP_EN. */
export const SLEEP_CONTROL_PORT = 0x600;
/** Sleep Status register: WAK_STS. */
export const SLEEP_STATUS_PORT = 0x601;
/** Reset register: writing RESET_VALUE resets the machine. */
export const RESET_PORT = 0x602;
/**
 * The Generic Event Device's event register (ours; the GED itself is ACPI 6.5 §5.6.9): reading
 * it returns the events raised since the last read and clears them. The DSDT's GED _EVT method
 * reads it when the GED's interrupt fires and notifies the device each set bit stands for.
 */
export const GED_EVENT_PORT = 0x603;
/** GED event bit: the power button was pressed (the _EVT method notifies \_SB_.PWRB with 0x80). */
export const GED_EVENT_POWER_BUTTON = 0x01;
/**
 * The GED's interrupt: the IOAPIC's last input, edge, active high (the virtio-mmio slots take
 * the inputs from 5 up to the one below it). The C test guests use the same number (guests/lib/ged.h).
 */
export const GED_GSI = 23;
/** The first port and the number of ports the PM device claims on the port bus. */
export const ACPI_PM_PORT_BASE = SLEEP_CONTROL_PORT;
export const ACPI_PM_PORT_COUNT = 4;

/**
 * The value the guest writes to RESET_PORT to reset (FADT RESET_VALUE). Any byte would do; 1 is
 * what Cloud Hypervisor uses and is easy to spot.
 */
export const RESET_VALUE = 0x01;

// Sleep Control register bits (ACPI 6.5 §4.8.3.7).
export const SLP_TYP_SHIFT = 2;
export const SLP_TYP_MASK = 0x1c;
export const SLP_EN = 0x20;
// Sleep Status register bits (ACPI 6.5 §4.8.3.7).
export const WAK_STS = 0x80;

/**
 * SLP_TYP for S5 (soft off). The value is ours to choose: the DSDT's \_S5_ package hands it to the
 * guest. 5, as QEMU's microvm and GED use.
 */
export const S5_SLP_TYP = 5;
