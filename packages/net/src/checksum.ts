// The Internet checksum: RFC 1071 (one's-complement sum of 16-bit words), used by IPv4 (RFC 791),
// ICMP (RFC 792), UDP (RFC 768) and TCP (RFC 9293 §3.1, with the pseudo-header).
//
// The one's-complement sum does not depend on byte order (RFC 1071 §2(B)), so on an even address we
// sum little-endian 16-bit words through a Uint16Array and swap the result once: about 2x faster
// than a byte loop. The view over the last buffer seen is cached, so a hot path allocates nothing.

let lastBuffer: ArrayBufferLike | undefined;
let lastWords: Uint16Array | undefined;

function words(buffer: ArrayBufferLike): Uint16Array {
  if (buffer !== lastBuffer || !lastWords) {
    lastBuffer = buffer;
    lastWords = new Uint16Array(buffer, 0, buffer.byteLength >>> 1);
  }
  return lastWords;
}

/** Adds the bytes buf[off, off+len) as big-endian 16-bit words to `acc` (not folded). */
export function sum16(buf: Uint8Array, off: number, len: number, acc = 0): number {
  if (len <= 0) return acc;
  const abs = buf.byteOffset + off;
  if ((abs & 1) === 0 && len >= 32) {
    const w = words(buf.buffer);
    const first = abs >>> 1;
    const n = len >>> 1;
    let le = 0;
    for (let i = first, end = first + n; i < end; i++) le += w[i]!;
    // fold the little-endian sum to 16 bits, then swap its bytes to big-endian
    while (le > 0xffff) le = (le & 0xffff) + Math.floor(le / 65536);
    acc += ((le & 0xff) << 8) | (le >>> 8);
    if (len & 1) acc += buf[off + len - 1]! << 8;
    return acc;
  }
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) acc += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) acc += buf[i]! << 8;
  return acc;
}

/** Folds a sum to 16 bits and complements it: the value to store in a checksum field. */
export function finish(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 65536);
  return ~acc & 0xffff;
}

/** The checksum of buf[off, off+len). A region that contains a correct checksum sums to 0. */
export function checksum(buf: Uint8Array, off: number, len: number, acc = 0): number {
  return finish(sum16(buf, off, len, acc));
}

/** The TCP/UDP pseudo-header sum (RFC 9293 §3.1, RFC 768): source, destination, protocol, length. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}
