import { describe, expect, it } from 'vitest';
import { completeChecksum } from './checksum';

describe('completeChecksum (virtio 1.2 §5.1.6.2)', () => {
  it('completes an RFC 1071 example: the region then sums to 0xffff', () => {
    // RFC 1071 §3 bytes, then a 2-byte field holding 0 as the "partial" sum, odd trailing byte
    const f = new Uint8Array([0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0xf7, 0, 0, 0x12]);
    expect(completeChecksum(f, f.length, 0, 8)).toBe(true);
    let acc = 0;
    for (let i = 0; i < f.length; i += 2) acc += (f[i]! << 8) | (f[i + 1] ?? 0);
    while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
    expect(acc).toBe(0xffff);
  });

  it('refuses offsets outside the frame and writes nothing', () => {
    const f = new Uint8Array(20).fill(7);
    expect(completeChecksum(f, 20, 20, 0)).toBe(false);
    expect(completeChecksum(f, 20, 10, 9)).toBe(false);
    expect(completeChecksum(f, 10, 4, 6)).toBe(false);
    expect(f.every((b) => b === 7)).toBe(true);
  });
});
