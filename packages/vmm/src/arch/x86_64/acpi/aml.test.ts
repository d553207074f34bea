import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buffer,
  device,
  eisaId,
  extendedInterrupt,
  integer,
  io,
  irqNoFlags,
  memory32Fixed,
  method,
  name,
  nameString,
  pkg,
  pkgLength,
  resourceTemplate,
  ret,
  scope,
  string,
} from './aml';
import { AcpiTableError } from './errors';
import { IASL_AVAILABLE, compile, diffIgnoringEndTagChecksums, tempDir } from './iasl.test-support';
import { SDT_HEADER_SIZE, byteSum } from './sdt';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('AML encoder, by hand-checked encodings (ACPI 6.5 §20.2)', () => {
  it('PkgLength counts its own bytes and switches width at 63, 4095 and 1 MiB', () => {
    expect(hex(pkgLength(0))).toBe('01');
    expect(hex(pkgLength(62))).toBe('3f'); // 62 + 1 = 63: still one byte
    // 63 + 2 = 65 = 0x041: lead 0x40 | 1, then 0x04.
    expect(hex(pkgLength(63))).toBe('4104');
    expect(hex(pkgLength(4093))).toBe('4fff'); // 4093 + 2 = 0xfff
    // 4094 + 3 = 0x1001: lead 0x80 | 1, then 0x00, 0x01.
    expect(hex(pkgLength(4094))).toBe('810001');
    // 0x100000 - 3 + 4 = 0x100001: four bytes.
    expect(hex(pkgLength(0x100000 - 3))).toBe('c1000001');
  });

  it('NameString: a segment, root, parent, dual and multi names; segments padded with _', () => {
    expect(hex(nameString('_SB'))).toBe('5f53425f');
    expect(hex(nameString('\\_SB_'))).toBe('5c5f53425f');
    expect(hex(nameString('^COM1'))).toBe('5e434f4d31');
    expect(hex(nameString('\\_SB_.COM1'))).toBe('5c2e5f53425f434f4d31');
    expect(hex(nameString('A.B.C'))).toBe('2f03415f5f5f425f5f5f435f5f5f');
    expect(hex(nameString('\\'))).toBe('5c00');
  });

  it('rejects names, integers and strings AML cannot hold', () => {
    expect(() => nameString('1ABC')).toThrow(AcpiTableError);
    expect(() => nameString('ABCDE')).toThrow(AcpiTableError);
    expect(() => nameString('abc')).toThrow(AcpiTableError);
    expect(() => nameString('')).toThrow(AcpiTableError);
    expect(() => integer(-1)).toThrow(AcpiTableError);
    expect(() => integer(2n ** 64n)).toThrow(AcpiTableError);
    expect(() => string('caf\u00e9')).toThrow(AcpiTableError);
    expect(() => eisaId('pnp0501')).toThrow(AcpiTableError);
    expect(() => irqNoFlags(16)).toThrow(AcpiTableError);
    expect(() => memory32Fixed(0xffff_ff00, 0x200)).toThrow(AcpiTableError);
    expect(() => method('M', 8, false)).toThrow(AcpiTableError);
  });

  it('integers take the shortest encoding', () => {
    expect(hex(integer(0))).toBe('00');
    expect(hex(integer(1))).toBe('01');
    expect(hex(integer(5))).toBe('0a05');
    expect(hex(integer(0x1234))).toBe('0b3412');
    expect(hex(integer(0xd0000000))).toBe('0c000000d0');
    expect(hex(integer(0x1_0000_0000n))).toBe('0e0000000001000000');
  });

  it('EISAID("PNP0501") is the DWord 0x0105D041 (bytes 41 D0 05 01), as iasl emits it', () => {
    expect(hex(eisaId('PNP0501'))).toBe('0c41d00501');
  });

  it('a ResourceTemplate ends with an End Tag whose checksum makes the descriptors sum to 0', () => {
    const rt = resourceTemplate(io(0x3f8, 0x3f8, 0, 8), irqNoFlags(4), memory32Fixed(0xd0000000, 0x200));
    // Buffer: 0x11, PkgLength (1 byte here), BufferSize (ByteConst: 2 bytes), then the descriptors.
    const descriptors = rt.subarray(4);
    expect(descriptors[descriptors.length - 2]).toBe(0x79);
    expect(descriptors[descriptors.length - 1]).not.toBe(0);
    expect(byteSum(descriptors)).toBe(0);
  });
});

// The same namespace written in ASL and with our encoder: iasl's compilation must give our bytes.
const BIG = 5000; // a Buffer this size needs a 3-byte PkgLength
const MID = 200; // and this one a 2-byte PkgLength
const bytesList = (n: number) =>
  Array.from({ length: n }, (_, i) => `0x${(i & 0xff).toString(16).padStart(2, '0')}`).join(', ');

const ASL = `DefinitionBlock ("", "SSDT", 2, "VMMTS ", "AMLTEST", 1)
{
    Scope (\\_SB)
    {
        Device (DEV0)
        {
            Name (_HID, EisaId ("PNP0501"))
            Name (_UID, 0x1234)
            Name (STR0, "hello")
            Name (INT4, 0xD0000000)
            Name (INT8, 0x123456789ABCDEF0)
            Method (_STA, 0, NotSerialized)
            {
                Return (0x0F)
            }
            Method (SER, 2, Serialized)
            {
                Return (One)
            }
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08, )
                IRQNoFlags () {3, 4}
                Memory32Fixed (ReadWrite, 0xD0000000, 0x00000200, )
                Memory32Fixed (ReadOnly, 0xFEC00000, 0x00001000, )
                Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, ) {5}
                Interrupt (ResourceConsumer, Level, ActiveLow, Shared, ,, ) {6, 23}
            })
        }
        Name (\\_SB.DEV0.MID, Buffer (${MID}) {${bytesList(MID)}})
        Name (BIG, Buffer (${BIG}) {${bytesList(BIG)}})
    }
    Name (PKG, Package (0x04) { One, Zero, 0xFF, 0x0100 })
}
`;

function ours(): Uint8Array {
  const data = (n: number) => Uint8Array.from({ length: n }, (_, i) => i & 0xff);
  const parts = [
    scope(
      '\\_SB_',
      device(
        'DEV0',
        name('_HID', eisaId('PNP0501')),
        name('_UID', integer(0x1234)),
        name('STR0', string('hello')),
        name('INT4', integer(0xd0000000)),
        name('INT8', integer(0x123456789abcdef0n)),
        method('_STA', 0, false, ret(integer(0x0f))),
        method('SER', 2, true, ret(integer(1))),
        name(
          '_CRS',
          resourceTemplate(
            io(0x3f8, 0x3f8, 0, 8),
            irqNoFlags(3, 4),
            memory32Fixed(0xd0000000, 0x200),
            memory32Fixed(0xfec00000, 0x1000, false),
            extendedInterrupt({ trigger: 'edge', polarity: 'high' }, 5),
            extendedInterrupt({ trigger: 'level', polarity: 'low', shared: true }, 6, 23),
          ),
        ),
      ),
      name('\\_SB_.DEV0.MID', buffer(data(MID))),
      name('BIG', buffer(data(BIG))),
    ),
    name('PKG', pkg(integer(1), integer(0), integer(0xff), integer(0x100))),
  ];
  return Buffer.concat(parts);
}

describe.skipIf(!IASL_AVAILABLE)('AML encoder against iasl', () => {
  it('encodes Scope, Device, Name, Method, Package, Buffer, integers, strings and resources as iasl compiles them', () => {
    const dir = tempDir();
    const r = compile(dir, 'amltest', ASL);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.status, r.output).toBe(0);
    expect(r.counts.slice(0, 2), r.output).toEqual([0, 0]); // errors, warnings (remarks: unused Arg0, Arg1)
    const theirs = r.aml.subarray(SDT_HEADER_SIZE);
    const mine = ours();
    expect(mine.length).toBe(theirs.length);
    expect(diffIgnoringEndTagChecksums(mine, theirs)).toEqual([]);
  });
});
