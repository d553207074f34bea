// HostBuffer: zeroed, writable bytes whose memory leaves the process's RSS at free(), at once.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HostBuffer } from './host-buffer';

/** This process's resident anonymous memory (RssAnon) in bytes. */
function rssAnon(): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

describe('HostBuffer', () => {
  it('gives zeroed, writable bytes; a zero length is an empty array', () => {
    const b = HostBuffer.alloc(3 * 4096 + 5);
    expect(b.bytes.length).toBe(3 * 4096 + 5);
    expect(b.bytes.every((x) => x === 0)).toBe(true);
    b.bytes.fill(0xab, 4000, 9000);
    expect(b.bytes[8999]).toBe(0xab);
    b.free();
    expect(b.bytes.length).toBe(0);
    b.free();
    expect(HostBuffer.alloc(0).bytes.length).toBe(0);
  });

  it.skipIf(process.platform !== 'linux')(
    'holds its memory resident from alloc (populated) and returns it at free, without a garbage collection',
    () => {
      const size = 64 << 20;
      const before = rssAnon();
      const b = HostBuffer.alloc(size);
      const during = rssAnon();
      b.free();
      const after = rssAnon();
      expect(during - before).toBeGreaterThan(size * 0.9);
      expect(during - after).toBeGreaterThan(size * 0.9);
    },
  );
});
