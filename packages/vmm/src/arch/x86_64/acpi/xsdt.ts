// The Extended System Description Table (ACPI 6.5 §5.2.8): the header, then one 64-bit
// physical address per table (all but the DSDT and FACS, which the FADT points to).
import { SDT_HEADER_SIZE, newSdt, sealSdt } from './sdt';

export const XSDT_REVISION = 1;

export function buildXsdt(tableAddresses: readonly number[]): Uint8Array {
  const { bytes, view } = newSdt('XSDT', XSDT_REVISION, SDT_HEADER_SIZE + 8 * tableAddresses.length);
  tableAddresses.forEach((address, i) => view.setBigUint64(SDT_HEADER_SIZE + 8 * i, BigInt(address), true));
  return sealSdt(bytes);
}
