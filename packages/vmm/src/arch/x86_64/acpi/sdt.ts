// The System Description Table header every ACPI table but the RSDP starts with, and the table
// checksum rule (ACPI 6.5 §5.2.6). All our tables carry the same OEM identity.
import { AcpiTableError } from './errors';

/** Bytes of the header (ACPI 6.5 §5.2.6). */
export const SDT_HEADER_SIZE = 36;

// Field offsets (ACPI 6.5 §5.2.6, "DESCRIPTION_HEADER Fields").
const SIGNATURE = 0;
const LENGTH = 4;
const REVISION = 8;
/** Offset of the checksum byte: the whole table, this byte included, sums to 0 mod 256. */
export const SDT_CHECKSUM_OFFSET = 9;
const OEM_ID = 10;
const OEM_TABLE_ID = 16;
const OEM_REVISION = 24;
const CREATOR_ID = 28;
const CREATOR_REVISION = 32;

/** Our OEM ID (6 bytes) and the creator ID (4 bytes) of the tool that made the tables. */
export const ACPI_OEM_ID = 'VMMTS ';
export const ACPI_OEM_REVISION = 1;
export const ACPI_CREATOR_ID = 'VMMT';
export const ACPI_CREATOR_REVISION = 1;

/** Write `text` (printable ASCII, exactly `len` characters) at `offset`. */
export function writeAscii(bytes: Uint8Array, offset: number, text: string, len: number): void {
  if (text.length !== len || !/^[\x20-\x7e]*$/.test(text)) {
    throw new AcpiTableError(`ACPI identifier "${text}" must be exactly ${len} printable ASCII characters`);
  }
  for (let i = 0; i < len; i++) bytes[offset + i] = text.charCodeAt(i);
}

/** The byte that makes `bytes` (with this byte counted as 0) sum to 0 mod 256. */
export function checksumOf(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i]!;
  return (256 - (sum & 0xff)) & 0xff;
}

/** The sum of `bytes` mod 256: 0 for a table with a correct checksum. */
export function byteSum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i]!;
  return sum & 0xff;
}

/**
 * A zeroed table of `length` bytes with its header filled in (checksum still 0). Write the body,
 * then call `sealSdt`.
 */
export function newSdt(
  signature: string,
  revision: number,
  length: number,
): { bytes: Uint8Array; view: DataView } {
  if (length < SDT_HEADER_SIZE)
    throw new AcpiTableError(`ACPI table ${signature} is shorter than its header`);
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  writeAscii(bytes, SIGNATURE, signature, 4);
  view.setUint32(LENGTH, length, true);
  view.setUint8(REVISION, revision);
  writeAscii(bytes, OEM_ID, ACPI_OEM_ID, 6);
  // OEM table ID: "VMMT" + the signature, as QEMU's "BXPC" + signature.
  writeAscii(bytes, OEM_TABLE_ID, `${ACPI_CREATOR_ID}${signature}`, 8);
  view.setUint32(OEM_REVISION, ACPI_OEM_REVISION, true);
  writeAscii(bytes, CREATOR_ID, ACPI_CREATOR_ID, 4);
  view.setUint32(CREATOR_REVISION, ACPI_CREATOR_REVISION, true);
  return { bytes, view };
}

/** Set the checksum byte so the whole table sums to 0; returns `bytes`. */
export function sealSdt(bytes: Uint8Array): Uint8Array {
  bytes[SDT_CHECKSUM_OFFSET] = 0;
  bytes[SDT_CHECKSUM_OFFSET] = checksumOf(bytes);
  return bytes;
}

/** A whole table from a header and an already encoded body (the DSDT's AML). */
export function sdtWithBody(signature: string, revision: number, body: Uint8Array): Uint8Array {
  const { bytes } = newSdt(signature, revision, SDT_HEADER_SIZE + body.length);
  bytes.set(body, SDT_HEADER_SIZE);
  return sealSdt(bytes);
}
