// The Generic Address Structure (ACPI 6.5 §5.2.3.2): where a register lives.
import { AcpiTableError } from './errors';

export const GAS_SIZE = 12;

/** Address space IDs (ACPI 6.5 §5.2.3.2). */
export const GAS_SPACE_SYSTEM_MEMORY = 0;
export const GAS_SPACE_SYSTEM_IO = 1;

/** Access sizes (ACPI 6.5 §5.2.3.2): 1 byte, 2 word, 3 dword, 4 qword. */
export const GAS_ACCESS_BYTE = 1;

export interface GenericAddress {
  spaceId: number;
  bitWidth: number;
  bitOffset: number;
  accessSize: number;
  address: number;
}

/** A byte-wide register at I/O port `port`. */
export function ioPortByte(port: number): GenericAddress {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new AcpiTableError(`I/O port 0x${port.toString(16)} is outside the 64 KiB port space`);
  }
  return {
    spaceId: GAS_SPACE_SYSTEM_IO,
    bitWidth: 8,
    bitOffset: 0,
    accessSize: GAS_ACCESS_BYTE,
    address: port,
  };
}

export function writeGas(view: DataView, offset: number, gas: GenericAddress): void {
  view.setUint8(offset, gas.spaceId);
  view.setUint8(offset + 1, gas.bitWidth);
  view.setUint8(offset + 2, gas.bitOffset);
  view.setUint8(offset + 3, gas.accessSize);
  view.setBigUint64(offset + 4, BigInt(gas.address), true);
}
