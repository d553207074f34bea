import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImageCrc, tableCrc32 } from './image-crc';

const hex = (crc: number) => crc.toString(16).padStart(8, '0');

describe('the memory image checksum (CRC-32, zeros folded in by arithmetic)', () => {
  it('zeros(n) gives what zlib.crc32 gives for n zero bytes, after any prefix', () => {
    const prefix = Buffer.from('a snapshot of guest RAM');
    for (const n of [1, 2, 3, 7, 8, 255, 4096, 65_537, 3 * 2 ** 20 + 5]) {
      const c = new ImageCrc();
      c.update(prefix);
      c.zeros(n);
      expect(c.digest(), `n = ${n}`).toBe(hex(zlib.crc32(Buffer.concat([prefix, Buffer.alloc(n)]))));
    }
  });

  it('an image in pieces of bytes and of zeros has the CRC-32 of the whole file', () => {
    const parts: Buffer[] = [];
    const c = new ImageCrc();
    let seed = 7;
    for (let i = 0; i < 40; i++) {
      seed = (seed * 1_103_515_245 + 12_345) >>> 0;
      const len = (seed >>> 8) % 20_000;
      if (i % 2 === 0) {
        const b = Buffer.alloc(len, seed & 0xff);
        c.update(b);
        parts.push(b);
      } else {
        c.zeros(len);
        parts.push(Buffer.alloc(len));
      }
    }
    expect(c.digest()).toBe(hex(zlib.crc32(Buffer.concat(parts))));
  });

  it('zeros(0) changes nothing; an empty image is 00000000', () => {
    const c = new ImageCrc();
    c.zeros(0);
    expect(c.digest()).toBe('00000000');
  });

  it("the table-driven CRC (for Node before 20.15) gives zlib's", () => {
    const b = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff));
    expect(tableCrc32(b, 0)).toBe(zlib.crc32(b));
    expect(tableCrc32(b.subarray(100), tableCrc32(b.subarray(0, 100), 0))).toBe(zlib.crc32(b));
  });
});
