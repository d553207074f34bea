// The Root System Description Pointer, revision 2 (ACPI 6.5 §5.2.5.3). A guest finds it
// through the boot protocol or by scanning 0xE0000..0xFFFFF on 16-byte boundaries (§5.2.5.1).
import { ACPI_OEM_ID, checksumOf, writeAscii } from './sdt';

export const RSDP_SIZE = 36;
/** The RSDP must sit on a 16-byte boundary for a scanning guest to find it (ACPI 6.5 §5.2.5.1). */
export const RSDP_ALIGNMENT = 16;
/** Bytes the ACPI 1.0 checksum covers. */
export const RSDP_V1_SIZE = 20;

// Field offsets (ACPI 6.5 §5.2.5.3, "RSDP Structure").
const SIGNATURE = 0;
export const RSDP_CHECKSUM_OFFSET = 8;
const OEM_ID = 9;
const REVISION = 15;
const RSDT_ADDRESS = 16;
const LENGTH = 20;
const XSDT_ADDRESS = 24;
export const RSDP_EXTENDED_CHECKSUM_OFFSET = 32;

/** "RSD PTR " (note the trailing space). */
export const RSDP_SIGNATURE = 'RSD PTR ';

/** An RSDP pointing at the XSDT only (RsdtAddress 0: we publish no 32-bit RSDT). */
export function buildRsdp(xsdtAddress: number): Uint8Array {
  const bytes = new Uint8Array(RSDP_SIZE);
  const view = new DataView(bytes.buffer);
  writeAscii(bytes, SIGNATURE, RSDP_SIGNATURE, 8);
  writeAscii(bytes, OEM_ID, ACPI_OEM_ID, 6);
  view.setUint8(REVISION, 2);
  view.setUint32(RSDT_ADDRESS, 0, true);
  view.setUint32(LENGTH, RSDP_SIZE, true);
  view.setBigUint64(XSDT_ADDRESS, BigInt(xsdtAddress), true);
  // The first checksum covers the ACPI 1.0 part (bytes 0..19), the extended one all 36 bytes,
  // including the first checksum, so compute it second.
  bytes[RSDP_CHECKSUM_OFFSET] = checksumOf(bytes, 0, RSDP_V1_SIZE);
  bytes[RSDP_EXTENDED_CHECKSUM_OFFSET] = checksumOf(bytes, 0, RSDP_SIZE);
  return bytes;
}
