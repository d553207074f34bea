// All ACPI tables of the x86_64 machine, placed in the ACPI area of the layout: the RSDP first, at
// the start of the area (0xE0000: 16-byte aligned and inside 0xE0000..0xFFFFF, so a guest that
// scans for it finds it as well as one told its address by the boot protocol), then the XSDT,
// FADT, MADT and DSDT. The area is reserved in the E820 map (memory-map.ts).
import type { GuestMemory } from '@vmm/hypervisor';
import { ACPI_END, ACPI_START, alignUp } from '../layout';
import { type VirtioMmioAcpiDevice, buildDsdt } from './dsdt';
import { AcpiTableError } from './errors';
import { FADT_SIZE, buildFadt } from './fadt';
import { buildMadt } from './madt';
import { RSDP_ALIGNMENT, RSDP_SIGNATURE, RSDP_SIZE, buildRsdp } from './rsdp';
import { SDT_HEADER_SIZE } from './sdt';
import { buildXsdt } from './xsdt';

/** What the tables describe. */
export interface AcpiMachine {
  /** vCPUs, 1..MAX_VCPUS (APIC IDs 0..cpus-1). */
  cpus: number;
  /** virtio-mmio transports; may be empty. */
  devices: readonly VirtioMmioAcpiDevice[];
  /** COM1 at 0x3F8, IRQ 4. Default true. */
  serial?: boolean;
  /** A CMOS RTC at 0x70, IRQ 8. Default false. */
  cmosRtc?: boolean;
}

/** Where the tables go: [start, end) of guest-physical memory. Default [ACPI_START, ACPI_END). */
export interface AcpiArea {
  start: number;
  end: number;
}

export interface AcpiTable {
  /** "RSD PTR " for the RSDP, else the table's 4-character signature. */
  signature: string;
  address: number;
  bytes: Uint8Array;
}

export interface AcpiTables {
  rsdpAddress: number;
  /** RSDP, XSDT, FACP, APIC, DSDT, in address order. */
  tables: AcpiTable[];
  /** First byte after the last table. */
  end: number;
}

/** Every table starts on this boundary (the RSDP needs 16; the others 8 would do). */
const TABLE_ALIGNMENT = 16;

export const DEFAULT_ACPI_AREA: AcpiArea = { start: ACPI_START, end: ACPI_END };

/** The tables and their addresses, not yet written anywhere. */
export function acpiTables(machine: AcpiMachine, area: AcpiArea = DEFAULT_ACPI_AREA): AcpiTables {
  if (!Number.isSafeInteger(area.start) || area.start % RSDP_ALIGNMENT !== 0 || area.end <= area.start) {
    throw new AcpiTableError(
      `ACPI area 0x${area.start.toString(16)}..0x${area.end.toString(16)} is invalid: it must start on a 16-byte boundary`,
    );
  }
  const madt = buildMadt({ cpus: machine.cpus });
  const dsdt = buildDsdt({ devices: machine.devices, serial: machine.serial, cmosRtc: machine.cmosRtc });

  const rsdpAddress = area.start;
  const xsdtAddress = alignUp(rsdpAddress + RSDP_SIZE, TABLE_ALIGNMENT);
  const xsdtSize = SDT_HEADER_SIZE + 8 * 2; // FADT, MADT
  const fadtAddress = alignUp(xsdtAddress + xsdtSize, TABLE_ALIGNMENT);
  const madtAddress = alignUp(fadtAddress + FADT_SIZE, TABLE_ALIGNMENT);
  const dsdtAddress = alignUp(madtAddress + madt.length, TABLE_ALIGNMENT);
  const end = dsdtAddress + dsdt.length;
  if (end > area.end) {
    throw new AcpiTableError(
      `the ACPI tables need ${end - area.start} bytes but the ACPI area holds ${area.end - area.start}: ` +
        'describe fewer devices or vCPUs',
    );
  }

  const tables: AcpiTable[] = [
    { signature: RSDP_SIGNATURE, address: rsdpAddress, bytes: buildRsdp(xsdtAddress) },
    { signature: 'XSDT', address: xsdtAddress, bytes: buildXsdt([fadtAddress, madtAddress]) },
    { signature: 'FACP', address: fadtAddress, bytes: buildFadt({ dsdtAddress, cmosRtc: machine.cmosRtc }) },
    { signature: 'APIC', address: madtAddress, bytes: madt },
    { signature: 'DSDT', address: dsdtAddress, bytes: dsdt },
  ];
  return { rsdpAddress, tables, end };
}

/**
 * Build the tables and write them into guest memory; returns the RSDP's guest-physical address
 * (for hvm_start_info.rsdp_paddr or boot_params.acpi_rsdp_addr). Throws GuestMemoryError when
 * the area is not guest RAM.
 */
export function buildAcpiTables(
  memory: GuestMemory,
  machine: AcpiMachine,
  area: AcpiArea = DEFAULT_ACPI_AREA,
): number {
  const built = acpiTables(machine, area);
  for (const table of built.tables) memory.write(table.address, table.bytes);
  return built.rsdpAddress;
}
