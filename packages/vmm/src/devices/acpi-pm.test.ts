import { describe, expect, it } from 'vitest';
import {
  FADT_RESET_REG,
  FADT_RESET_VALUE,
  FADT_SLEEP_CONTROL_REG,
  FADT_SLEEP_STATUS_REG,
} from '../arch/x86_64/acpi/fadt';
import { dsdtAml } from '../arch/x86_64/acpi/dsdt';
import { acpiTables } from '../arch/x86_64/acpi/tables';
import { type AcpiPmEvent, AcpiPmDevice } from './acpi-pm';
import { PioBus } from './pio-bus';

function rig() {
  const events: AcpiPmEvent[] = [];
  const bus = new PioBus();
  const ged = new Int32Array(new SharedArrayBuffer(4));
  bus.add(AcpiPmDevice.portBase, AcpiPmDevice.portCount, new AcpiPmDevice((e) => events.push(e), ged));
  return {
    events,
    ged,
    outb: (port: number, v: number) => bus.write(port, Uint8Array.of(v)),
    out: (port: number, bytes: number[]) => bus.write(port, Uint8Array.from(bytes)),
    inb: (port: number) => {
      const b = new Uint8Array(1);
      bus.read(port, b);
      return b[0]!;
    },
  };
}

/** What the guest learns from the tables: the register ports, the reset value and \_S5_'s SLP_TYP. */
function fromTables() {
  const { tables } = acpiTables({ cpus: 1, devices: [] });
  const fadt = tables.find((t) => t.signature === 'FACP')!.bytes;
  const v = new DataView(fadt.buffer, fadt.byteOffset, fadt.byteLength);
  const port = (off: number) => Number(v.getBigUint64(off + 4, true));
  // \_S5_ is Name(\_S5_, Package(4) { ByteConst SLP_TYP, ... }): find it in the AML.
  const aml = dsdtAml({ devices: [] });
  const at = Buffer.from(aml).indexOf(Buffer.from('\\_S5_', 'latin1'));
  expect(at).toBeGreaterThan(0);
  // NameString (5 bytes), PackageOp, PkgLength (1), NumElements, then BytePrefix + SLP_TYP.
  expect(aml[at + 5]).toBe(0x12);
  expect(aml[at + 8]).toBe(0x0a);
  return {
    sleepControl: port(FADT_SLEEP_CONTROL_REG),
    sleepStatus: port(FADT_SLEEP_STATUS_REG),
    reset: port(FADT_RESET_REG),
    resetValue: v.getUint8(FADT_RESET_VALUE),
    s5SlpTyp: aml[at + 9]!,
  };
}

describe('ACPI PM device', () => {
  it('powers off on the write sequence Linux uses for S5 on a hardware-reduced platform, once', () => {
    // drivers/acpi/acpica/hwesleep.c, acpi_hw_extended_sleep(): clear WAK_STS in the status
    // register, then write SLP_TYP << 2 | SLP_EN to the control register.
    const t = fromTables();
    const r = rig();
    r.outb(t.sleepStatus, 0x80);
    expect(r.events).toEqual([]);
    r.outb(t.sleepControl, ((t.s5SlpTyp << 2) & 0x1c) | 0x20);
    expect(r.events).toEqual(['poweroff']);
  });

  it('resets when the FADT reset value is written to the FADT reset register', () => {
    const t = fromTables();
    const r = rig();
    r.outb(t.reset, t.resetValue);
    expect(r.events).toEqual(['reset']);
  });

  it('ignores SLP_TYP 5 without SLP_EN, SLP_EN with another sleep type, and other reset values', () => {
    const r = rig();
    r.outb(0x600, 5 << 2); // S5 type, no SLP_EN: Linux's wake-prep style write
    r.outb(0x600, (3 << 2) | 0x20); // S3: we offer no such state
    r.outb(0x600, 0x20); // S0
    r.outb(0x601, 0x80);
    for (const v of [0x00, 0x02, 0x06, 0x42, 0xff]) r.outb(0x602, v);
    expect(r.events).toEqual([]);
  });

  it('reads 0 from every register (WAK_STS never set), so a guest polling the status spins harmlessly', () => {
    const r = rig();
    expect([r.inb(0x600), r.inb(0x601), r.inb(0x602)]).toEqual([0, 0, 0]);
  });

  it('a wide write reaches each register it covers', () => {
    const r = rig();
    r.out(0x601, [0x80, 0x01]); // word at the status register: its high byte is the reset register
    expect(r.events).toEqual(['reset']);
    r.out(0x600, [0x34, 0x00, 0x00, 0x00]);
    expect(r.events).toEqual(['reset', 'poweroff']);
  });

  it('the GED event register (0x603) returns the events raised since the last read, then 0', () => {
    const r = rig();
    expect(r.inb(0x603)).toBe(0);
    Atomics.or(r.ged, 0, 1); // the main thread presses the power button
    expect(r.inb(0x603)).toBe(1);
    expect(r.inb(0x603)).toBe(0);
    Atomics.or(r.ged, 0, 1);
    const wide = new Uint8Array(4);
    expect(r.events).toEqual([]);
    r.out(0x600, [0, 0, 0, 0]); // writes to it are ignored
    expect(r.ged[0]).toBe(1);
    const bus = new PioBus();
    bus.add(AcpiPmDevice.portBase, AcpiPmDevice.portCount, new AcpiPmDevice(() => {}, r.ged));
    bus.read(0x600, wide); // a dword read from 0x600 covers the register in its top byte
    expect([...wide]).toEqual([0, 0, 0, 1]);
    expect(r.ged[0]).toBe(0);
  });
});
