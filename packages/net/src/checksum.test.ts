import { describe, expect, it } from 'vitest';
import { checksum, sum16 } from './checksum';

/** RFC 1071 §4.1's byte-pair loop: the reference the word-wise sum must match. */
function reference(buf: Uint8Array, off: number, len: number): number {
  let acc = 0;
  let i = off;
  for (; i + 1 < off + len; i += 2) acc += (buf[i]! << 8) | buf[i + 1]!;
  if (i < off + len) acc += buf[i]! << 8;
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return ~acc & 0xffff;
}

describe('checksum', () => {
  it('matches the byte-pair reference at every alignment and odd/even length', () => {
    const buf = new Uint8Array(70_000 + 8);
    let x = 12345;
    for (let i = 0; i < buf.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      buf[i] = x >>> 24;
    }
    for (const len of [0, 1, 2, 3, 31, 32, 33, 34, 35, 36, 37, 1500, 1501, 65535, 65536, 70_000]) {
      for (let off = 0; off < 8; off++) {
        expect(checksum(buf, off, len), `off ${off} len ${len}`).toBe(reference(buf, off, len));
        const sub = buf.subarray(off);
        expect(checksum(sub, 1, len), `sub ${off}+1 len ${len}`).toBe(reference(sub, 1, len));
      }
    }
  });

  it('sums all-ones words without losing carries', () => {
    const buf = new Uint8Array(65_536).fill(0xff);
    expect(checksum(buf, 0, buf.length)).toBe(0);
    expect(sum16(buf, 0, 4) % 0xffff).toBe(0);
  });
});
