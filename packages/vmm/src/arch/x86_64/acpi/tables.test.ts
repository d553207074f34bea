import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ArrayGuestMemory } from '../guest-memory.test-support';
import { MAX_VCPUS } from '../cpuid';
import {
  ACPI_END,
  ACPI_START,
  IOAPIC_START,
  LAPIC_START,
  VIRTIO_MMIO_MAX_SLOTS,
  virtioMmioSlotAddress,
} from '../layout';
import { memoryLayout } from '../memory-map';
import { AcpiTableError } from './errors';
import {
  FADT_F_HW_REDUCED_ACPI,
  FADT_F_RESET_REG_SUP,
  FADT_RESET_REG,
  FADT_RESET_VALUE,
  FADT_SLEEP_CONTROL_REG,
  FADT_SLEEP_STATUS_REG,
  FADT_X_DSDT,
  IAPC_BOOT_ARCH_CMOS_RTC_NOT_PRESENT,
} from './fadt';
import {
  IASL_AVAILABLE,
  acpiexec,
  compile,
  complaints,
  diffIgnoringEndTagChecksums,
  disassemble,
  tempDir,
} from './iasl.test-support';
import { LOCAL_APIC_ENABLED, MADT_ENTRIES_OFFSET, MADT_TYPE_LOCAL_APIC } from './madt';
import { RESET_PORT, RESET_VALUE, SLEEP_CONTROL_PORT, SLEEP_STATUS_PORT } from './registers';
import { RSDP_SIZE, RSDP_V1_SIZE } from './rsdp';
import { SDT_HEADER_SIZE, byteSum } from './sdt';
import { type AcpiMachine, type AcpiTable, acpiTables, buildAcpiTables } from './tables';

const TWO_DEVICES: AcpiMachine = {
  cpus: 2,
  devices: [
    { base: 0xd000_0000, gsi: 5 },
    { base: 0xd000_0200, gsi: 6 },
  ],
};

function table(tables: readonly AcpiTable[], signature: string): AcpiTable {
  const t = tables.find((x) => x.signature === signature);
  if (!t) throw new Error(`no ${signature}`);
  return t;
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** The Processor Local APIC entries of a MADT, walked from the bytes as a guest would. */
function localApics(madt: Uint8Array): { uid: number; apicId: number; flags: number }[] {
  const v = view(madt);
  const out: { uid: number; apicId: number; flags: number }[] = [];
  for (let at = MADT_ENTRIES_OFFSET; at < v.getUint32(4, true); at += v.getUint8(at + 1)) {
    expect(v.getUint8(at + 1)).toBeGreaterThan(0);
    if (v.getUint8(at) === MADT_TYPE_LOCAL_APIC) {
      out.push({ uid: v.getUint8(at + 2), apicId: v.getUint8(at + 3), flags: v.getUint32(at + 4, true) });
    }
  }
  return out;
}

describe('ACPI tables: structure and checksums', () => {
  it('every table sums to 0; the RSDP has both checksums right', () => {
    for (const machine of [
      TWO_DEVICES,
      { cpus: 1, devices: [] },
      { cpus: 254, devices: [], cmosRtc: true },
    ]) {
      const { tables } = acpiTables(machine);
      expect(tables.map((t) => t.signature)).toEqual(['RSD PTR ', 'XSDT', 'FACP', 'APIC', 'DSDT']);
      for (const t of tables.slice(1)) {
        expect(byteSum(t.bytes), t.signature).toBe(0);
        expect(view(t.bytes).getUint32(4, true), `${t.signature} length`).toBe(t.bytes.length);
      }
      const rsdp = tables[0]!.bytes;
      expect(rsdp.length).toBe(RSDP_SIZE);
      expect(byteSum(rsdp, 0, RSDP_V1_SIZE)).toBe(0);
      expect(byteSum(rsdp)).toBe(0);
    }
  });

  it('tables are 16-byte aligned, do not overlap, and lie in the ACPI area; the RSDP at its start', () => {
    const { tables, rsdpAddress, end } = acpiTables(TWO_DEVICES);
    expect(rsdpAddress).toBe(ACPI_START);
    let next = ACPI_START;
    for (const t of tables) {
      expect(t.address % 16).toBe(0);
      expect(t.address).toBeGreaterThanOrEqual(next);
      next = t.address + t.bytes.length;
    }
    expect(end).toBe(next);
    expect(end).toBeLessThanOrEqual(ACPI_END);
  });

  it('the MADT lists one enabled local APIC per vCPU (1 and 3), APIC ID = UID = index', () => {
    for (const cpus of [1, 3]) {
      const madt = table(acpiTables({ cpus, devices: [] }).tables, 'APIC').bytes;
      const v = view(madt);
      expect(v.getUint32(36, true)).toBe(LAPIC_START);
      const apics = localApics(madt);
      expect(apics).toEqual(
        Array.from({ length: cpus }, (_, i) => ({ uid: i, apicId: i, flags: LOCAL_APIC_ENABLED })),
      );
    }
  });

  it('the FADT is hardware-reduced, points X_DSDT at the DSDT, and names the PM registers in I/O space', () => {
    const { tables } = acpiTables(TWO_DEVICES);
    const fadt = view(table(tables, 'FACP').bytes);
    expect(fadt.getUint8(8)).toBe(6); // revision
    const flags = fadt.getUint32(112, true);
    expect(flags & FADT_F_HW_REDUCED_ACPI).not.toBe(0);
    expect(flags & FADT_F_RESET_REG_SUP).not.toBe(0);
    expect(fadt.getBigUint64(FADT_X_DSDT, true)).toBe(BigInt(table(tables, 'DSDT').address));
    expect(fadt.getUint32(40, true)).toBe(0); // 32-bit DSDT field: 0 when X_DSDT is set
    const gas = (off: number) => ({
      space: fadt.getUint8(off),
      bits: fadt.getUint8(off + 1),
      address: Number(fadt.getBigUint64(off + 4, true)),
    });
    expect(gas(FADT_SLEEP_CONTROL_REG)).toEqual({ space: 1, bits: 8, address: SLEEP_CONTROL_PORT });
    expect(gas(FADT_SLEEP_STATUS_REG)).toEqual({ space: 1, bits: 8, address: SLEEP_STATUS_PORT });
    expect(gas(FADT_RESET_REG)).toEqual({ space: 1, bits: 8, address: RESET_PORT });
    expect(fadt.getUint8(FADT_RESET_VALUE)).toBe(RESET_VALUE);
    expect(fadt.getUint16(109, true) & IAPC_BOOT_ARCH_CMOS_RTC_NOT_PRESENT).not.toBe(0);
    const withRtc = view(table(acpiTables({ ...TWO_DEVICES, cmosRtc: true }).tables, 'FACP').bytes);
    expect(withRtc.getUint16(109, true) & IAPC_BOOT_ARCH_CMOS_RTC_NOT_PRESENT).toBe(0);
  });

  it('the largest machine fits the ACPI area: 254 vCPUs and a device in each of the 64 virtio-mmio slots', () => {
    const devices = Array.from({ length: VIRTIO_MMIO_MAX_SLOTS }, (_, i) => ({
      base: virtioMmioSlotAddress(i),
      gsi: 5 + (i % 19),
    }));
    const { end, tables } = acpiTables({ cpus: MAX_VCPUS, devices, cmosRtc: true });
    expect(end).toBeLessThanOrEqual(ACPI_END);
    expect(localApics(table(tables, 'APIC').bytes)).toHaveLength(MAX_VCPUS);
    for (const t of tables.slice(1)) expect(byteSum(t.bytes), t.signature).toBe(0);
  });

  it('refuses what it cannot describe, with AcpiTableError', () => {
    expect(() => acpiTables({ cpus: 0, devices: [] })).toThrow(AcpiTableError);
    expect(() => acpiTables({ cpus: 255, devices: [] })).toThrow(AcpiTableError);
    expect(() => acpiTables({ cpus: 1, devices: [{ base: 0xd000_0000, gsi: 24 }] })).toThrow(AcpiTableError);
    expect(() => acpiTables({ cpus: 1, devices: [{ base: 0xffff_ff00, gsi: 5 }] })).toThrow(AcpiTableError);
    expect(() => acpiTables({ cpus: 4, devices: [] }, { start: ACPI_START, end: ACPI_START + 256 })).toThrow(
      AcpiTableError,
    );
    expect(() => acpiTables({ cpus: 1, devices: [] }, { start: ACPI_START + 8, end: ACPI_END })).toThrow(
      AcpiTableError,
    );
  });
});

describe('ACPI tables in guest memory', () => {
  it('a guest scanning 0xE0000..0xFFFFF finds the RSDP and follows XSDT -> FADT -> DSDT, MADT', () => {
    const memory = new ArrayGuestMemory(memoryLayout(64 * 1024 * 1024));
    const rsdpAddress = buildAcpiTables(memory, TWO_DEVICES);
    // ACPI 6.5 §5.2.5.1: scan the BIOS area on 16-byte boundaries for "RSD PTR " with a good checksum.
    let found = -1;
    for (let a = 0xe0000; a < 0x100000 && found < 0; a += 16) {
      const b = memory.slice(a, 20)!;
      if (Buffer.from(b.subarray(0, 8)).toString('latin1') === 'RSD PTR ' && byteSum(b) === 0) found = a;
    }
    expect(found).toBe(rsdpAddress);
    const sdt = (gpa: number) => {
      const len = memory.readU32(gpa + 4);
      const bytes = memory.slice(gpa, len)!;
      expect(byteSum(bytes)).toBe(0);
      return { sig: Buffer.from(bytes.subarray(0, 4)).toString('latin1'), bytes };
    };
    const xsdtAddress = Number(memory.readU64(found + 24));
    const xsdt = sdt(xsdtAddress);
    expect(xsdt.sig).toBe('XSDT');
    const entries = (xsdt.bytes.length - SDT_HEADER_SIZE) / 8;
    const sigs = Array.from(
      { length: entries },
      (_, i) => sdt(Number(memory.readU64(xsdtAddress + 36 + 8 * i))).sig,
    );
    expect(sigs).toEqual(['FACP', 'APIC']);
    const fadtAddress = Number(memory.readU64(xsdtAddress + 36));
    expect(sdt(Number(memory.readU64(fadtAddress + FADT_X_DSDT))).sig).toBe('DSDT');
  });
});

describe.skipIf(!IASL_AVAILABLE)('ACPI tables against iasl', () => {
  const dir = tempDir();
  const { tables } = acpiTables(TWO_DEVICES);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(['XSDT', 'FACP', 'APIC', 'DSDT'])('%s: iasl -d decodes it without a complaint', (sig) => {
    const r = disassemble(dir, sig, table(tables, sig).bytes);
    expect(r.status, r.output).toBe(0);
    expect(complaints(r.output)).toEqual([]);
    expect(r.dsl).not.toBe('');
    expect(complaints(r.dsl)).toEqual([]);
  });

  it.each(['XSDT', 'FACP', 'APIC', 'DSDT'])('%s: iasl compiles the disassembly back to our bytes', (sig) => {
    const ours = table(tables, sig).bytes;
    const d = disassemble(dir, `${sig}-rt`, ours);
    const c = compile(dir, `${sig}-rt`, d.dsl);
    expect(c.status, c.output).toBe(0);
    expect(c.counts, c.output).toEqual([0, 0, 0]);
    // The header's creator ID/revision become iasl's own, and so the checksum; the rest must match.
    expect(c.aml.subarray(0, 28)).toEqual(
      Uint8Array.from([...ours.subarray(0, 9), c.aml[9]!, ...ours.subarray(10, 28)]),
    );
    expect(
      diffIgnoringEndTagChecksums(ours.subarray(SDT_HEADER_SIZE), c.aml.subarray(SDT_HEADER_SIZE)),
    ).toEqual([]);
    expect(byteSum(c.aml)).toBe(0);
  });

  it('RSDP: iasl builds the same 36 bytes, both checksums included, from our field values', () => {
    const rsdp = table(tables, 'RSD PTR ');
    const xsdt = table(tables, 'XSDT');
    const source = `[0008] Signature : "RSD PTR "
[0001] Checksum : 00
[0006] Oem ID : "VMMTS "
[0001] Revision : 02
[0004] RSDT Address : 00000000
[0004] Length : 00000024
[0008] XSDT Address : ${xsdt.address.toString(16).padStart(16, '0')}
[0001] Extended Checksum : 00
[0003] Reserved : 000000
`;
    const c = compile(dir, 'rsdp', source);
    expect(c.counts, c.output).toEqual([0, 0, 0]);
    expect(c.aml).toEqual(rsdp.bytes);
  });

  it('the DSDT names COM1 (PNP0501), \\_S5_ = 5, and two LNRO0005 devices with their windows and interrupts', () => {
    const { dsl } = disassemble(dir, 'DSDT-names', table(tables, 'DSDT').bytes);
    const flat = dsl.replace(/\/\/[^\n]*/g, '').replace(/\s+/g, ' ');
    expect(flat).toContain(
      'Device (COM1) { Name (_HID, EisaId ("PNP0501") /* 16550A-compatible COM Serial Port */)',
    );
    expect(flat).toMatch(/IO \(Decode16, 0x03F8, 0x03F8, 0x00, 0x08, \) IRQNoFlags \(\) \{4\}/);
    expect(flat).toMatch(/Name \(\\_S5, Package \(0x04\) \{ 0x05, Zero, Zero, Zero \}\)/);
    const devices = [
      ...flat.matchAll(/Device \((VR\d\d)\) \{ Name \(_HID, "LNRO0005"\) Name \(_UID, (\w+)\)(.*?)\}\) \}/g),
    ];
    expect(devices.map((m) => [m[1], m[2]])).toEqual([
      ['VR00', 'Zero'],
      ['VR01', 'One'],
    ]);
    expect(devices[0]![3]).toMatch(
      /Memory32Fixed \(ReadWrite, 0xD0000000, 0x00000200, \) Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \) \{ 0x00000005, \}/,
    );
    expect(devices[1]![3]).toMatch(
      /Memory32Fixed \(ReadWrite, 0xD0000200, 0x00000200, \) Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \) \{ 0x00000006, \}/,
    );
  });

  it('the DSDT has the power button (PNP0C0C) and a GED (ACPI0013) on GSI 23 whose _EVT reads port 0x603 and notifies it', () => {
    const { dsl } = disassemble(dir, 'DSDT-ged', table(tables, 'DSDT').bytes);
    const flat = dsl
      .replace(/\/\/[^\n]*/g, '')
      .replace(/\/\*.*?\*\//g, '')
      .replace(/\s+/g, ' ');
    expect(flat).toMatch(/Device \(PWRB\) \{ Name \(_HID, EisaId \("PNP0C0C"\) ?\) Name \(_UID, Zero\) \}/);
    expect(flat).toMatch(/Device \(GED0\) \{ Name \(_HID, "ACPI0013" ?\)/);
    expect(flat).toMatch(
      /Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \) \{ 0x00000017, \}/,
    );
    expect(flat).toContain('OperationRegion (GDST, SystemIO, 0x0603, One)');
    expect(flat).toMatch(/Field \(GDST, ByteAcc, NoLock, Preserve\) \{ GDAT, 8 \}/);
    expect(flat).toMatch(
      /Method \(_EVT, 1, Serialized\) \{ If \(\(GDAT & One\)\) \{ Notify \(\\_SB\.PWRB, 0x80\)/,
    );
  });

  it('the MADT as iasl reads it: 3 enabled local APICs, the IOAPIC at 0xFEC00000, IRQ0 -> GSI 2, LINT1 NMI', () => {
    const { dsl } = disassemble(
      dir,
      'APIC-3',
      table(acpiTables({ cpus: 3, devices: [] }).tables, 'APIC').bytes,
    );
    expect(dsl.match(/Subtable Type : 00 \[Processor Local APIC\]/g)).toHaveLength(3);
    expect(dsl.match(/Processor Enabled : 1/g)).toHaveLength(3);
    expect(dsl).toMatch(
      /Subtable Type : 01 \[I\/O APIC\][\s\S]*?Address : FEC00000\n[^\n]*Interrupt : 00000000/,
    );
    expect(IOAPIC_START).toBe(0xfec00000);
    expect(dsl).toMatch(/\[Interrupt Source Override\][\s\S]*?Source : 00\n[^\n]*Interrupt : 00000002/);
    expect(dsl).toMatch(/\[Local APIC NMI\][\s\S]*?Processor ID : FF[\s\S]*?Interrupt Input LINT : 01/);
  });

  it('ACPICA (acpiexec) loads FADT, MADT and DSDT without a warning and evaluates \\_S5_, _HID and _CRS', () => {
    const r = acpiexec(
      dir,
      ['FACP', 'APIC', 'DSDT'].map((sig) => ({ name: sig, bytes: table(tables, sig).bytes })),
      'evaluate \\_S5; evaluate \\_SB.COM1._HID; evaluate \\_SB.VR01._CRS; evaluate \\_SB.GED0._EVT 23',
    );
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/ACPI: FACP .* \(v06 VMMTS {2}VMMTFACP/);
    expect(r.output).toMatch(/1 ACPI AML tables successfully acquired and loaded/);
    expect(r.output.split('\n').filter((l) => /warning|error|AE_/i.test(l))).toEqual([]);
    const flat = r.output.replace(/\s+/g, ' ');
    expect(flat).toContain(
      '[Package] Contains 4 Elements: [Integer] = 0000000000000005 [Integer] = 0000000000000000 ' +
        '[Integer] = 0000000000000000 [Integer] = 0000000000000000',
    );
    expect(flat).toContain('[Integer] = 000000000105D041'); // EISAID("PNP0501")
    // VR01's _CRS: Memory32Fixed(ReadWrite, 0xD0000200, 0x200), Interrupt(Edge, ActiveHigh) {6}, EndTag.
    expect(flat).toMatch(
      /0000: 86 09 00 01 00 02 00 D0 00 02 00 00 89 06 00 03 \/\/ \S+ 0010: 01 06 00 00 00 79 [0-9A-F]{2}/,
    );
  });

  it('the FADT as iasl reads it: hardware-reduced, reset register supported, 6.5', () => {
    const { dsl } = disassemble(dir, 'FACP-fields', table(tables, 'FACP').bytes);
    expect(dsl).toMatch(/Hardware Reduced \(V5\) : 1/);
    expect(dsl).toMatch(/Reset Register Supported \(V2\) : 1/);
    expect(dsl).toMatch(/FADT Minor Revision : 05/);
    expect(dsl).toMatch(
      /Sleep Control Register : \[Generic Address Structure\]\n[^\n]*Space ID : 01 \[SystemIO\]/,
    );
  });
});
