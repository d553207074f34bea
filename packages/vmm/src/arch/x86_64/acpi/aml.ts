// A small AML encoder: the subset of ACPI Machine Language our DSDT needs. Grammar: ACPI 6.5 §20.2
// (names §20.2.2, data objects §20.2.3, package length §20.2.4, terms §20.2.5). Resource
// descriptors inside a ResourceTemplate: ACPI 6.5 §6.4. Each function returns the encoded bytes of
// one term; compose them by passing results as arguments, e.g.
//   device('COM1', name('_HID', eisaId('PNP0501')), name('_CRS', resourceTemplate(io(...))))
import { AcpiTableError } from './errors';

// Opcodes (ACPI 6.5 §20.3, "AML Byte Stream Byte Values").
const ZERO_OP = 0x00;
const ONE_OP = 0x01;
const NAME_OP = 0x08;
const BYTE_PREFIX = 0x0a;
const WORD_PREFIX = 0x0b;
const DWORD_PREFIX = 0x0c;
const STRING_PREFIX = 0x0d;
const QWORD_PREFIX = 0x0e;
const SCOPE_OP = 0x10;
const BUFFER_OP = 0x11;
const PACKAGE_OP = 0x12;
const METHOD_OP = 0x14;
const DUAL_NAME_PREFIX = 0x2e;
const MULTI_NAME_PREFIX = 0x2f;
const EXT_OP_PREFIX = 0x5b;
const DEVICE_OP = 0x82; // after EXT_OP_PREFIX
const ROOT_CHAR = 0x5c;
const PARENT_PREFIX_CHAR = 0x5e;
const RETURN_OP = 0xa4;
const NULL_NAME = 0x00;
const OP_REGION_OP = 0x80; // after EXT_OP_PREFIX
const FIELD_OP = 0x81; // after EXT_OP_PREFIX
const LOCAL0_OP = 0x60;
const ARG0_OP = 0x68;
const STORE_OP = 0x70;
const AND_OP = 0x7b;
const NOTIFY_OP = 0x86;
const IF_OP = 0xa0;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function le(value: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Math.floor(value / 2 ** (8 * i)) & 0xff);
  return out;
}

function checkUint(value: number, max: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new AcpiTableError(
      `${what} ${value} is out of range: it must be an integer from 0 to 0x${max.toString(16)}`,
    );
  }
}

/** NameSeg (§20.2.2): 1-4 characters [A-Z_][A-Z0-9_]*, padded with '_' to 4. */
export function nameSeg(seg: string): Uint8Array {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(seg)) {
    throw new AcpiTableError(
      `"${seg}" is not an ACPI name segment: use 1 to 4 characters, A-Z, 0-9 or _, not starting with a digit`,
    );
  }
  const padded = seg.padEnd(4, '_');
  return Uint8Array.from(padded, (c) => c.charCodeAt(0));
}

/** NameString (§20.2.2): an optional "\" or "^"s, then dot-separated segments ("\_SB_.COM1"). */
export function nameString(path: string): Uint8Array {
  let i = 0;
  const prefix: number[] = [];
  if (path.startsWith('\\')) {
    prefix.push(ROOT_CHAR);
    i = 1;
  } else {
    while (path[i] === '^') {
      prefix.push(PARENT_PREFIX_CHAR);
      i++;
    }
  }
  const rest = path.slice(i);
  const segs = rest === '' ? [] : rest.split('.').map(nameSeg);
  if (segs.length === 0 && prefix.length === 0) throw new AcpiTableError('an ACPI name cannot be empty');
  if (segs.length > 255) throw new AcpiTableError(`ACPI name "${path}" has more than 255 segments`);
  let head: number[];
  if (segs.length === 0) head = [NULL_NAME];
  else if (segs.length === 1) head = [];
  else if (segs.length === 2) head = [DUAL_NAME_PREFIX];
  else head = [MULTI_NAME_PREFIX, segs.length];
  return concat([Uint8Array.from(prefix), Uint8Array.from(head), ...segs]);
}

/**
 * PkgLength (§20.2.4) for `contentLength` bytes that follow it. The encoded length counts the
 * PkgLength bytes themselves: one byte up to 63, else a lead byte holding the count of follow
 * bytes (bits 7-6) and the low nibble, then up to three bytes of the rest.
 */
export function pkgLength(contentLength: number): Uint8Array {
  checkUint(contentLength, 0x0fff_ffff - 4, 'AML package length');
  if (contentLength + 1 <= 0x3f) return encodedLength(contentLength + 1);
  for (let follow = 1; follow <= 3; follow++) {
    const total = contentLength + 1 + follow;
    if (total < 2 ** (4 + 8 * follow)) return encodedLength(total);
  }
  throw new AcpiTableError(`AML package of ${contentLength} bytes is too long`); // unreachable after checkUint
}

/** The PkgLength encoding of `value` itself (a NamedField's bit count is written this way). */
function encodedLength(value: number): Uint8Array {
  if (value <= 0x3f) return Uint8Array.of(value);
  let follow = 1;
  while (value >= 2 ** (4 + 8 * follow)) follow++;
  const out = new Uint8Array(1 + follow);
  out[0] = (follow << 6) | (value & 0x0f);
  for (let k = 0; k < follow; k++) out[1 + k] = Math.floor(value / 2 ** (4 + 8 * k)) & 0xff;
  return out;
}

function withPkgLength(op: readonly number[], body: readonly Uint8Array[]): Uint8Array {
  const content = concat(body);
  return concat([Uint8Array.from(op), pkgLength(content.length), content]);
}

/** Integer (§20.2.3): ZeroOp, OneOp or the shortest Byte/Word/DWord/QWord constant. */
export function integer(value: number | bigint): Uint8Array {
  const v = BigInt(value);
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) {
    throw new AcpiTableError(`AML integer ${value} is out of range: AML integers are unsigned 64-bit`);
  }
  if (v === 0n) return Uint8Array.of(ZERO_OP);
  if (v === 1n) return Uint8Array.of(ONE_OP);
  const n = Number(v);
  if (v <= 0xffn) return Uint8Array.of(BYTE_PREFIX, n);
  if (v <= 0xffffn) return Uint8Array.of(WORD_PREFIX, ...le(n, 2));
  if (v <= 0xffff_ffffn) return Uint8Array.of(DWORD_PREFIX, ...le(n, 4));
  const out = new Uint8Array(9);
  out[0] = QWORD_PREFIX;
  new DataView(out.buffer).setBigUint64(1, v, true);
  return out;
}

/** String (§20.2.3): ASCII 0x01-0x7F, NUL-terminated. */
export function string(text: string): Uint8Array {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0 || c > 0x7f) throw new AcpiTableError(`AML string "${text}" must be ASCII without NUL`);
  }
  return concat([
    Uint8Array.of(STRING_PREFIX),
    Uint8Array.from(text, (c) => c.charCodeAt(0)),
    Uint8Array.of(0),
  ]);
}

/**
 * EISAID("PNP0501") (ACPI 6.5 §19.6.35): three letters of 5 bits each and four hex digits,
 * packed into 32 bits and stored byte-swapped, as a DWord constant (as iasl emits it).
 */
export function eisaId(id: string): Uint8Array {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) {
    throw new AcpiTableError(
      `"${id}" is not an EISA ID: use three capital letters and four hex digits (PNP0501)`,
    );
  }
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const value = ((c(0) << 26) | (c(1) << 21) | (c(2) << 16) | parseInt(id.slice(3), 16)) >>> 0;
  const swapped = [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
  return Uint8Array.of(DWORD_PREFIX, ...swapped);
}

/** DefName (§20.2.5.1): Name(path, value). */
export function name(path: string, value: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(NAME_OP), nameString(path), value]);
}

/** DefScope (§20.2.5.1): Scope(path) { terms }. */
export function scope(path: string, ...terms: Uint8Array[]): Uint8Array {
  return withPkgLength([SCOPE_OP], [nameString(path), ...terms]);
}

/** DefDevice (§20.2.5.2): Device(path) { terms }. */
export function device(path: string, ...terms: Uint8Array[]): Uint8Array {
  return withPkgLength([EXT_OP_PREFIX, DEVICE_OP], [nameString(path), ...terms]);
}

/** DefMethod (§20.2.5.2): Method(path, argCount, NotSerialized | Serialized) { terms }. */
export function method(
  path: string,
  argCount: number,
  serialized: boolean,
  ...terms: Uint8Array[]
): Uint8Array {
  checkUint(argCount, 7, 'AML method argument count');
  const flags = argCount | (serialized ? 0x08 : 0);
  return withPkgLength([METHOD_OP], [nameString(path), Uint8Array.of(flags), ...terms]);
}

/** DefReturn (§20.2.5.3): Return(value). */
export function ret(value: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(RETURN_OP), value]);
}

/** DefPackage (§20.2.5.4): Package() { elements }, at most 255 elements. */
export function pkg(...elements: Uint8Array[]): Uint8Array {
  if (elements.length > 255) throw new AcpiTableError('an AML Package holds at most 255 elements');
  return withPkgLength([PACKAGE_OP], [Uint8Array.of(elements.length), ...elements]);
}

/** DefBuffer (§20.2.5.4): Buffer(size) { bytes }. */
export function buffer(bytes: Uint8Array): Uint8Array {
  return withPkgLength([BUFFER_OP], [integer(bytes.length), bytes]);
}

/** LocalObj (§20.2.6.2): Local0..Local7. */
export function local(n: number): Uint8Array {
  checkUint(n, 7, 'AML local variable');
  return Uint8Array.of(LOCAL0_OP + n);
}

/** ArgObj (§20.2.6.1): Arg0..Arg6. */
export function arg(n: number): Uint8Array {
  checkUint(n, 6, 'AML method argument');
  return Uint8Array.of(ARG0_OP + n);
}

/** A name used as a term (a field unit, a device, a method call without arguments). */
export function ref(path: string): Uint8Array {
  return nameString(path);
}

/** DefStore (§20.2.5.4): Store(value, target). */
export function store(value: Uint8Array, target: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(STORE_OP), value, target]);
}

/** DefAnd (§20.2.5.4): And(a, b), the result not stored (Target is NullName). */
export function and(a: Uint8Array, b: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(AND_OP), a, b, Uint8Array.of(NULL_NAME)]);
}

/** DefIfElse without Else (§20.2.5.3): If(predicate) { terms }. */
export function ifThen(predicate: Uint8Array, ...terms: Uint8Array[]): Uint8Array {
  return withPkgLength([IF_OP], [predicate, ...terms]);
}

/** DefNotify (§20.2.5.3): Notify(object, value). */
export function notify(path: string, value: number): Uint8Array {
  checkUint(value, 0xff, 'Notify value');
  return concat([Uint8Array.of(NOTIFY_OP), nameString(path), integer(value)]);
}

/** Region spaces of an OperationRegion (§19.6.100). */
export type RegionSpace = 'SystemMemory' | 'SystemIO';
const REGION_SPACE: Record<RegionSpace, number> = { SystemMemory: 0x00, SystemIO: 0x01 };

/** DefOpRegion (§20.2.5.2): OperationRegion(name, space, offset, length). */
export function opRegion(path: string, space: RegionSpace, offset: number, length: number): Uint8Array {
  return concat([
    Uint8Array.of(EXT_OP_PREFIX, OP_REGION_OP),
    nameString(path),
    Uint8Array.of(REGION_SPACE[space]),
    integer(offset),
    integer(length),
  ]);
}

/**
 * DefField (§20.2.5.2, FieldFlags §19.6.48): Field(region, ByteAcc, NoLock, Preserve) { name, bits; ... },
 * the fields laid out one after another from offset 0.
 */
export function fieldByteAcc(region: string, ...fields: readonly [name: string, bits: number][]): Uint8Array {
  const BYTE_ACC = 1;
  const list = fields.map(([n, bits]) => {
    checkUint(bits, 0x0fff_ffff, 'AML field width');
    return concat([nameSeg(n), encodedLength(bits)]);
  });
  return withPkgLength([EXT_OP_PREFIX, FIELD_OP], [nameString(region), Uint8Array.of(BYTE_ACC), ...list]);
}

// ---- Resource descriptors (ACPI 6.5 §6.4) ----

/**
 * ResourceTemplate() { descriptors } (§6.4.1): a Buffer of the descriptors and an End Tag
 * (§6.4.2.9) whose checksum makes the whole template sum to 0.
 */
export function resourceTemplate(...descriptors: Uint8Array[]): Uint8Array {
  const body = concat([...descriptors, Uint8Array.of(0x79, 0)]);
  let sum = 0;
  for (const b of body) sum += b;
  body[body.length - 1] = (256 - (sum & 0xff)) & 0xff;
  return buffer(body);
}

/** I/O Port Descriptor (§6.4.2.5): IO(Decode16, min, max, alignment, length). */
export function io(min: number, max: number, alignment: number, length: number): Uint8Array {
  checkUint(min, 0xffff, 'I/O range minimum');
  checkUint(max, 0xffff, 'I/O range maximum');
  checkUint(alignment, 0xff, 'I/O alignment');
  checkUint(length, 0xff, 'I/O length');
  const DECODE16 = 1;
  return Uint8Array.of(0x47, DECODE16, ...le(min, 2), ...le(max, 2), alignment, length);
}

/** IRQ Descriptor without flags (§6.4.2.1): IRQNoFlags() { irqs } (ISA IRQs 0-15, edge, high). */
export function irqNoFlags(...irqs: number[]): Uint8Array {
  let mask = 0;
  for (const irq of irqs) {
    checkUint(irq, 15, 'ISA IRQ');
    mask |= 1 << irq;
  }
  return Uint8Array.of(0x22, ...le(mask, 2));
}

/** 32-Bit Fixed Memory Range Descriptor (§6.4.3.4): Memory32Fixed(ReadWrite|ReadOnly, base, length). */
export function memory32Fixed(base: number, length: number, writable = true): Uint8Array {
  checkUint(base, 0xffff_ffff, 'Memory32Fixed base');
  checkUint(length, 0xffff_ffff - base, 'Memory32Fixed length');
  return Uint8Array.of(0x86, ...le(9, 2), writable ? 1 : 0, ...le(base, 4), ...le(length, 4));
}

export interface InterruptFlags {
  /** 'edge' or 'level' triggered. */
  trigger: 'edge' | 'level';
  /** 'high' or 'low' active. */
  polarity: 'high' | 'low';
  /** Shared with other devices. Default false (Exclusive). */
  shared?: boolean;
}

/**
 * Extended Interrupt Descriptor (§6.4.3.6): Interrupt(ResourceConsumer, trigger, polarity,
 * Exclusive|Shared) { gsis }, without a resource source.
 */
export function extendedInterrupt(flags: InterruptFlags, ...gsis: number[]): Uint8Array {
  if (gsis.length < 1 || gsis.length > 255)
    throw new AcpiTableError('an Interrupt descriptor lists 1 to 255 interrupts');
  const CONSUMER = 1 << 0;
  const EDGE = 1 << 1;
  const ACTIVE_LOW = 1 << 2;
  const SHARED = 1 << 3;
  let info = CONSUMER;
  if (flags.trigger === 'edge') info |= EDGE;
  if (flags.polarity === 'low') info |= ACTIVE_LOW;
  if (flags.shared) info |= SHARED;
  const list: number[] = [];
  for (const gsi of gsis) {
    checkUint(gsi, 0xffff_ffff, 'interrupt number');
    list.push(...le(gsi, 4));
  }
  return Uint8Array.of(0x89, ...le(2 + 4 * gsis.length, 2), info, gsis.length, ...list);
}
