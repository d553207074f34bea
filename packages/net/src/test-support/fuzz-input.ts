// Fuzz targets only: how a fuzz input becomes what a header parser is given, and the contract every
// parser here keeps. Input byte 0: the offset (low 4 bits, -2..13), two flags for the target to
// use ("fix the checksum", "do not verify") and where the buffer starts in its ArrayBuffer (0..3:
// the checksum code sums aligned words through views of the whole ArrayBuffer); byte 1: the
// length, the payload's -16..+15; the rest: the payload, laid at the offset in a buffer of filler
// with 16 spare bytes after it.
// The contract: never throw; accept nothing that is not inside the buffer; read nothing outside
// [off, off+len) (each input is parsed twice, over two fillers, and must come out the same).

export const FLAG_FIX_CHECKSUM = 1;
export const FLAG_NO_VERIFY = 2;

export interface ParserHarness {
  /** Parse buf[off, off+len); what the parser returns. */
  parse(buf: Uint8Array, off: number, len: number, flags: number): boolean;
  /** The parsed fields as text, after a successful parse (compared between the two fillers). */
  fields(): string;
  /** After a successful parse: why the fields break the parser's promises, or undefined. */
  check?(off: number, len: number): string | undefined;
  /** Before parsing: make the payload's checksum right for `len` bytes (with FLAG_FIX_CHECKSUM). */
  fixChecksum?(payload: Uint8Array, len: number): void;
}

const FILLERS = [0x00, 0xff];
const SPARE = 16;

export function fuzzParser(data: Uint8Array, h: ParserHarness): void {
  if (data.length < 2) return;
  const off = (data[0]! & 15) - 2;
  const flags = data[0]! >>> 4;
  const payload = data.slice(2);
  const len = payload.length + (data[1]! & 31) - 16;
  if (flags & FLAG_FIX_CHECKSUM && h.fixChecksum && len >= 0)
    h.fixChecksum(payload, Math.min(len, payload.length));
  const size = Math.max(off, 0) + payload.length + SPARE;
  const inside = off >= 0 && len >= 0 && off + len <= size;
  // Only the window's bytes come from the payload: a read past it sees filler.
  const shown = payload.subarray(0, Math.max(0, Math.min(len, payload.length)));
  let first: string | undefined;
  const shift = (flags >> 2) & 3;
  for (const fill of FILLERS) {
    const buf = new Uint8Array(new ArrayBuffer(size + shift), shift, size).fill(fill);
    buf.set(shown, Math.max(off, 0));
    const ok = h.parse(buf, off, len, flags);
    if (ok && !inside) {
      throw new Error(`contract: accepted [${off}, ${off + len}), not inside its ${size}-byte buffer`);
    }
    const why = ok ? h.check?.(off, len) : undefined;
    if (why) throw new Error(`contract: ${why} (off ${off}, len ${len})`);
    const result = ok ? `accepted ${h.fields()}` : 'refused';
    if (first === undefined) first = result;
    else if (inside && len <= payload.length && result !== first) {
      throw new Error(
        `contract: the result depends on bytes outside [${off}, ${off + len}): ${first} / ${result}`,
      );
    }
  }
}

/** An input that shows `payload` whole at offset 0, with `flags`. */
export function parserSeed(payload: Uint8Array, flags = 0): Uint8Array {
  const out = new Uint8Array(2 + payload.length);
  out[0] = 2 | (flags << 4);
  out[1] = 16;
  out.set(payload, 2);
  return out;
}

/** RFC 1071: the one's-complement sum of buf[off, off+len) as big-endian words, plus `acc`, folded. */
export function onesSum(buf: Uint8Array, off: number, len: number, acc = 0): number {
  let i = off;
  for (; i + 1 < off + len; i += 2) acc += (buf[i]! << 8) | buf[i + 1]!;
  if (i < off + len) acc += buf[i]! << 8;
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

/** The TCP/UDP pseudo-header's sum (RFC 9293 §3.1, RFC 768), not folded. */
export function pseudoSum(src: number, dst: number, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

/** Store at `at` the checksum that makes buf[off, off+len) (plus `acc`) sum to 0xffff. */
export function fixChecksumAt(buf: Uint8Array, at: number, off: number, len: number, acc = 0): void {
  if (at < off || at + 2 > off + len) return;
  buf[at] = 0;
  buf[at + 1] = 0;
  const c = ~onesSum(buf, off, len, acc) & 0xffff;
  buf[at] = c >>> 8;
  buf[at + 1] = c & 0xff;
}

export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
