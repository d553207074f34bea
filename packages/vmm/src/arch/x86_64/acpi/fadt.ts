// The Fixed ACPI Description Table, revision 6 (ACPI 6.5 §5.2.9) for a hardware-reduced
// platform (§4.1): no PM1/PM2/GPE blocks, no SCI, no FACS; power management through the Sleep
// Control/Status registers and the Reset Register of registers.ts.
import { type GenericAddress, ioPortByte, writeGas } from './gas';
import { RESET_PORT, RESET_VALUE, SLEEP_CONTROL_PORT, SLEEP_STATUS_PORT } from './registers';
import { newSdt, sealSdt } from './sdt';

export const FADT_SIZE = 276;
export const FADT_REVISION = 6;
/** ACPI 6.5: major version in the header revision, minor version in this field. */
export const FADT_MINOR_VERSION = 5;

// Field offsets (ACPI 6.5 §5.2.9, "FADT Format"). Every field not named here stays 0: on a hardware-reduced
// platform the legacy PM fields are ignored and must be zero.
const FIRMWARE_CTRL = 36;
const DSDT = 40;
const PREFERRED_PM_PROFILE = 45;
const SCI_INT = 46;
const IAPC_BOOT_ARCH = 109;
const FLAGS = 112;
export const FADT_RESET_REG = 116;
export const FADT_RESET_VALUE = 128;
const MINOR_VERSION = 131;
const X_FIRMWARE_CTRL = 132;
export const FADT_X_DSDT = 140;
export const FADT_SLEEP_CONTROL_REG = 244;
export const FADT_SLEEP_STATUS_REG = 256;
export const FADT_HYPERVISOR_VENDOR_IDENTITY = 268;

// Fixed feature flags (ACPI 6.5 §5.2.9, "Fixed ACPI Description Table Fixed Feature Flags").
export const FADT_F_RESET_REG_SUP = 1 << 10;
export const FADT_F_HW_REDUCED_ACPI = 1 << 20;

// IA-PC boot architecture flags (ACPI 6.5 §5.2.9.3). Bits 0 (LEGACY_DEVICES) and 1 (8042) stay
// clear: the machine has no ISA devices to enumerate by probing and no keyboard controller, and a
// clear 8042 bit keeps Linux from probing ports 0x60/0x64.
export const IAPC_BOOT_ARCH_VGA_NOT_PRESENT = 1 << 2;
export const IAPC_BOOT_ARCH_CMOS_RTC_NOT_PRESENT = 1 << 5;

/** Preferred_PM_Profile (ACPI 6.5 §5.2.9): 0 = unspecified, as QEMU's microvm. */
const PM_PROFILE_UNSPECIFIED = 0;

/**
 * Hypervisor Vendor Identity (ACPI 6.5 §5.2.9, 8 bytes): "VMMTS", NUL-padded, read as a
 * little-endian 64-bit value.
 */
export const HYPERVISOR_VENDOR_IDENTITY = 'VMMTS';

export interface FadtOptions {
  /** Guest-physical address of the DSDT (given in X_DSDT; the 32-bit DSDT field stays 0). */
  dsdtAddress: number;
  /** The machine emulates a CMOS RTC at ports 0x70/0x71. Default false. */
  cmosRtc?: boolean;
}

export const SLEEP_CONTROL_REG: GenericAddress = ioPortByte(SLEEP_CONTROL_PORT);
export const SLEEP_STATUS_REG: GenericAddress = ioPortByte(SLEEP_STATUS_PORT);
export const RESET_REG: GenericAddress = ioPortByte(RESET_PORT);

export function buildFadt(options: FadtOptions): Uint8Array {
  const { bytes, view } = newSdt('FACP', FADT_REVISION, FADT_SIZE);
  // No FACS: optional on hardware-reduced platforms (ACPI 6.5 §5.2.10: no global lock, no waking vector).
  view.setUint32(FIRMWARE_CTRL, 0, true);
  view.setBigUint64(X_FIRMWARE_CTRL, 0n, true);
  // "If the X_DSDT field contains a non-zero value then this field must be zero" (§5.2.9, DSDT field).
  view.setUint32(DSDT, 0, true);
  view.setBigUint64(FADT_X_DSDT, BigInt(options.dsdtAddress), true);
  view.setUint8(PREFERRED_PM_PROFILE, PM_PROFILE_UNSPECIFIED);
  view.setUint16(SCI_INT, 0, true); // no SCI on a hardware-reduced platform
  let bootArch = IAPC_BOOT_ARCH_VGA_NOT_PRESENT;
  if (!options.cmosRtc) bootArch |= IAPC_BOOT_ARCH_CMOS_RTC_NOT_PRESENT;
  view.setUint16(IAPC_BOOT_ARCH, bootArch, true);
  view.setUint32(FLAGS, FADT_F_HW_REDUCED_ACPI | FADT_F_RESET_REG_SUP, true);
  writeGas(view, FADT_RESET_REG, RESET_REG);
  view.setUint8(FADT_RESET_VALUE, RESET_VALUE);
  view.setUint8(MINOR_VERSION, FADT_MINOR_VERSION);
  writeGas(view, FADT_SLEEP_CONTROL_REG, SLEEP_CONTROL_REG);
  writeGas(view, FADT_SLEEP_STATUS_REG, SLEEP_STATUS_REG);
  for (let i = 0; i < HYPERVISOR_VENDOR_IDENTITY.length; i++) {
    bytes[FADT_HYPERVISOR_VENDOR_IDENTITY + i] = HYPERVISOR_VENDOR_IDENTITY.charCodeAt(i);
  }
  return sealSdt(bytes);
}
