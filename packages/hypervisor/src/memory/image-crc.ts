// The checksum of a snapshot's memory image: CRC-32 (the ISO-HDLC CRC of zlib's crc32 and Node's
// zlib.crc32) of the whole image as the guest sees it, a hole reading as zeros. A run of zeros is
// folded in by arithmetic, not bytes: appending n zero bytes multiplies the CRC register by
// x^(8n) mod P, and x^(2^k) mod P is a table (as zlib's crc32_combine does it). So a check reads
// only the file's data extents, and a copy that fills or punches holes differently still matches.
// CRC-32 finds damage, not tampering: whoever can edit the file can edit the manifest beside it.
import type * as Zlib from 'node:zlib';
import { loadBuiltin } from '../sys/builtin';

/** The CRC-32 polynomial, bit-reflected (x^32 implied). */
const POLY = 0xedb88320;

/** a(x) · b(x) mod P, both reflected. */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = (b & 1) !== 0 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) mod P for k = 0..31 (x^1 is 1 << 30, reflected). */
const X2N = new Uint32Array(32);
X2N[0] = 1 << 30;
for (let k = 1; k < 32; k++) X2N[k] = multModP(X2N[k - 1]!, X2N[k - 1]!);

/** x^(n · 2^k) mod P, for n up to 2^53. */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

type Crc32 = (data: Uint8Array, value: number) => number;
let crc32: Crc32 | undefined;

/** Node's zlib.crc32 (Node 20.15 and later), or the table-driven one before it. */
function crc32Function(): Crc32 {
  return (loadBuiltin<typeof Zlib>('node:zlib').crc32 as Crc32 | undefined) ?? tableCrc32;
}

let table: Uint32Array | undefined;

/** CRC-32 a byte at a time from a table: ~20 times slower than zlib's, for Node before 20.15. */
export function tableCrc32(data: Uint8Array, value: number): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let j = 0; j < 8; j++) c = (c & 1) !== 0 ? (c >>> 1) ^ POLY : c >>> 1;
      table[i] = c >>> 0;
    }
  }
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** The running CRC-32 of an image read front to back, in pieces of bytes and of zeros. */
export class ImageCrc {
  private crc = 0;

  /** Fold in `bytes`. */
  update(bytes: Uint8Array): void {
    crc32 ??= crc32Function();
    this.crc = crc32(bytes, this.crc);
  }

  /** Fold in `n` zero bytes without reading any (the register times x^(8n)). */
  zeros(n: number): void {
    if (n > 0) this.crc = ~multModP(x2nModP(n, 3), ~this.crc >>> 0) >>> 0;
  }

  /** The CRC as 8 hex digits. */
  digest(): string {
    return this.crc.toString(16).padStart(8, '0');
  }
}

/** The CRC-32 of `bytes` as 8 hex digits (a snapshot's small files: their checksum in its manifest). */
export function crc32Hex(bytes: Uint8Array): string {
  const c = new ImageCrc();
  c.update(bytes);
  return c.digest();
}
