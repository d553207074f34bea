import { describe, expect, it } from 'vitest';
import { MemorySizeError } from './errors';
import { E820_RAM, E820_RESERVED, MIN_RAM_SIZE, e820Map, memoryLayout } from './memory-map';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const HOLE = [0xc000_0000, 0x1_0000_0000] as const;

function overlapsHole(addr: number, size: number): boolean {
  return addr < HOLE[1] && addr + size > HOLE[0];
}

describe('memory map', () => {
  for (const [label, size] of [
    ['128M', 128 * MiB],
    ['512M', 512 * MiB],
    ['3G', 3 * GiB],
    ['3584M', 3584 * MiB],
    ['8G', 8 * GiB],
  ] as const) {
    it(`${label}: E820 sorted, disjoint, RAM adds up, nothing in the hole`, () => {
      const map = e820Map(size);
      for (let i = 1; i < map.length; i++) {
        const prev = map[i - 1]!;
        expect(map[i]!.addr).toBeGreaterThanOrEqual(prev.addr + prev.size);
      }
      for (const e of map) {
        expect(e.size).toBeGreaterThan(0);
        expect(overlapsHole(e.addr, e.size)).toBe(false);
      }
      // The reserved legacy area is backed by RAM too: RAM + reserved = the whole size.
      const total = map.reduce((n, e) => n + e.size, 0);
      expect(total).toBe(size);
      expect(map.filter((e) => e.type === E820_RESERVED)).toEqual([
        { addr: 0x9fc00, size: 0x100000 - 0x9fc00, type: E820_RESERVED },
      ]);

      const layout = memoryLayout(size);
      expect(layout.ranges.reduce((n, r) => n + r.size, 0)).toBe(size);
      for (const r of layout.ranges) expect(overlapsHole(r.gpa, r.size)).toBe(false);
      // Every RAM entry of the map lies in a backed range.
      for (const e of map.filter((x) => x.type === E820_RAM)) {
        expect(layout.ranges.some((r) => e.addr >= r.gpa && e.addr + e.size <= r.gpa + r.size)).toBe(true);
      }
    });
  }

  it('3584M: 3 GiB below the hole, 512 MiB above 4 GiB', () => {
    expect(memoryLayout(3584 * MiB).ranges).toEqual([
      { gpa: 0, size: 3 * GiB },
      { gpa: 4 * GiB, size: 512 * MiB },
    ]);
    expect(e820Map(3584 * MiB).at(-1)).toEqual({ addr: 4 * GiB, size: 512 * MiB, type: E820_RAM });
  });

  it('128M: one range, low RAM only', () => {
    expect(memoryLayout(128 * MiB).ranges).toEqual([{ gpa: 0, size: 128 * MiB }]);
    expect(e820Map(128 * MiB)).toEqual([
      { addr: 0, size: 0x9fc00, type: E820_RAM },
      { addr: 0x9fc00, size: 0x60400, type: E820_RESERVED },
      { addr: 0x100000, size: 127 * MiB, type: E820_RAM },
    ]);
  });

  it('exactly 3 GiB fills low RAM and adds no high range', () => {
    expect(memoryLayout(3 * GiB).ranges).toHaveLength(1);
  });

  it('rejects too small, unaligned and absurd sizes with MemorySizeError', () => {
    expect(() => memoryLayout(MIN_RAM_SIZE - 4096)).toThrow(MemorySizeError);
    expect(() => memoryLayout(8 * MiB)).toThrow(/too small: a guest needs at least 16 MiB/);
    expect(() => memoryLayout(64 * MiB + 1)).toThrow(/not a whole number of 4 KiB pages/);
    expect(() => memoryLayout(2 ** 41)).toThrow(MemorySizeError);
    expect(() => e820Map(Number.NaN)).toThrow(MemorySizeError);
    expect(memoryLayout(MIN_RAM_SIZE).ranges).toEqual([{ gpa: 0, size: MIN_RAM_SIZE }]);
  });
});
