import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GuestMemoryError } from '../errors';
import { nextMessage, startTsWorker } from '../test-support/ts-worker';
import { MemoryLayoutError } from './layout';
import { WINDOW_BYTES } from './mapped-guest-memory';
import { MemfdGuestMemory } from './memfd-guest-memory';
import { writeMemoryFile } from './memory-file';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('MemfdGuestMemory', () => {
  it('backs several ranges (below and above the 32-bit hole) and checks every access', () => {
    const mem = MemfdGuestMemory.create({
      ranges: [
        { gpa: 4 * GiB, size: 2 * MiB },
        { gpa: 0, size: 1 * MiB },
      ],
    });
    try {
      expect(mem.regions.map((r) => [r.gpa, r.size])).toEqual([
        [0, MiB],
        [4 * GiB, 2 * MiB],
      ]);
      expect(mem.totalSize).toBe(3 * MiB);
      mem.writeU8(0, 0xab);
      mem.writeU16(2, 0xbeef);
      mem.writeU32(MiB - 4, 0xdeadbeef);
      mem.writeU64(4 * GiB + 8, 0x0123456789abcdefn);
      expect(mem.readU8(0)).toBe(0xab);
      expect(mem.readU16(2)).toBe(0xbeef);
      expect(mem.readU32(MiB - 4)).toBe(0xdeadbeef);
      expect(mem.readU64(4 * GiB + 8)).toBe(0x0123456789abcdefn);
      // Little-endian, and the same bytes through slice() (a view, not a copy).
      expect([...mem.slice(4 * GiB + 8, 2)!]).toEqual([0xef, 0xcd]);
      mem.slice(4 * GiB + 8, 1)![0] = 0x11;
      expect(mem.readU8(4 * GiB + 8)).toBe(0x11);
      mem.write(4 * GiB + 2 * MiB - 3, new Uint8Array([1, 2, 3]));
      expect([...mem.slice(4 * GiB + 2 * MiB - 3, 3)!]).toEqual([1, 2, 3]);

      // Out of bounds: past a range, in the hole, straddling an end, negative, fractional, huge.
      expect(mem.slice(MiB - 2, 4)).toBeUndefined();
      expect(mem.slice(2 * GiB, 1)).toBeUndefined();
      expect(mem.slice(-1, 1)).toBeUndefined();
      expect(mem.slice(0.5, 1)).toBeUndefined();
      expect(mem.slice(0, -1)).toBeUndefined();
      expect(mem.slice(2 ** 60, 1)).toBeUndefined();
      expect(mem.contains(0, MiB)).toBe(true);
      expect(mem.contains(0, MiB + 1)).toBe(false);
      expect(() => mem.readU32(MiB - 2)).toThrow(GuestMemoryError);
      expect(() => mem.writeU64(4 * GiB + 2 * MiB - 4, 0n)).toThrow(GuestMemoryError);
      expect(() => mem.write(MiB - 1, new Uint8Array(2))).toThrow(/outside guest memory/);
    } finally {
      mem.close();
    }
  });

  it('refuses bad layouts with a sentence', () => {
    expect(() => MemfdGuestMemory.create({ ranges: [] })).toThrow(MemoryLayoutError);
    expect(() => MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: 100 }] })).toThrow(/aligned/);
    expect(() =>
      MemfdGuestMemory.create({
        ranges: [
          { gpa: 0, size: 8192 },
          { gpa: 4096, size: 4096 },
        ],
      }),
    ).toThrow(/overlaps/);
  });

  it('splits a range larger than one typed array may cover into several regions', () => {
    const mem = MemfdGuestMemory.create(
      { ranges: [{ gpa: 0x10000, size: 64 * 1024 }] },
      { maxViewBytes: 16 * 1024 },
    );
    try {
      expect(mem.regions.map((r) => [r.gpa, r.size])).toEqual([
        [0x10000, 0x4000],
        [0x14000, 0x4000],
        [0x18000, 0x4000],
        [0x1c000, 0x4000],
      ]);
      mem.writeU32(0x1c000 - 4, 0x11223344);
      mem.writeU32(0x1c000, 0x55667788);
      // The pieces are adjacent slices of one mapping: the bytes line up across the split.
      expect(mem.regions[2]!.bytes.length).toBe(0x4000);
      expect(mem.readU32(0x1c000 - 4)).toBe(0x11223344);
      expect(mem.readU32(0x1c000)).toBe(0x55667788);
      // An access across the split is refused like one outside RAM.
      expect(mem.slice(0x1c000 - 2, 4)).toBeUndefined();
      expect(mem.hostRanges()).toHaveLength(1);
    } finally {
      mem.close();
    }
  });

  it('maps a 6 GiB range (sparse) with a view per 4 GiB', () => {
    const mem = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: 6 * GiB }] });
    try {
      expect(mem.regions.map((r) => r.size)).toEqual([4 * GiB, 2 * GiB]);
      mem.writeU64(6 * GiB - 8, 42n);
      mem.writeU32(4 * GiB - 4, 7);
      expect(mem.readU64(6 * GiB - 8)).toBe(42n);
      expect(mem.readU32(4 * GiB - 4)).toBe(7);
    } finally {
      mem.close();
    }
  });

  it('a thread that attaches the RAM makes a window’s view (2 MiB) when it first touches it, not one of the 1 GiB region (V8 counts a view’s bytes as external memory, and a whole-RAM one forces a GC)', async () => {
    const mem = MemfdGuestMemory.create({
      ranges: [
        { gpa: 0, size: GiB },
        { gpa: 4 * GiB, size: GiB },
      ],
    });
    const lease = mem.lend();
    // A fresh isolate (a worker's, as a device thread's): no view of another test is collected
    // under the count.
    const worker = startTsWorker(new URL('../test-support/memory-worker.ts', import.meta.url), {
      workerData: lease.handle,
    });
    const external = async () => (worker.postMessage({ external: true }), nextMessage<number>(worker));
    try {
      await nextMessage(worker);
      const before = await external();
      expect(before).toBeLessThan(GiB / 4);
      worker.postMessage({ write: 4096, value: 7 });
      expect(await nextMessage(worker)).toBe('ok');
      // A window, within a MiB or so: the isolate's other external memory comes and goes (by 44 KiB
      // in one CI run).
      expect((await external()) - before).toBeGreaterThan(WINDOW_BYTES - MiB);
      expect((await external()) - before).toBeLessThan(16 * MiB);
      worker.postMessage({ read: 4 * GiB });
      expect(await nextMessage(worker)).toBe(0);
      expect((await external()) - before).toBeGreaterThan(2 * WINDOW_BYTES - MiB);
      expect((await external()) - before).toBeLessThan(16 * MiB);
      // The owner's views are made alike, and both see one page.
      expect(mem.readU32(4096)).toBe(7);
    } finally {
      await worker.terminate();
      lease.release();
      mem.close();
    }
  });

  it('a worker thread attaches the same RAM: each sees the other one’s writes', async () => {
    const mem = MemfdGuestMemory.create({
      ranges: [
        { gpa: 0, size: MiB },
        { gpa: 4 * GiB, size: MiB },
      ],
    });
    const lease = mem.lend();
    const handle = lease.handle;
    expect(structuredClone(handle)).toEqual(handle);
    mem.writeU32(0x1000, 0xcafef00d);
    const worker = startTsWorker(new URL('../test-support/memory-worker.ts', import.meta.url), {
      workerData: handle,
    });
    try {
      expect(await nextMessage(worker)).toEqual({
        regions: [
          [0, MiB],
          [4 * GiB, MiB],
        ],
      });
      worker.postMessage({ read: 0x1000 });
      expect(await nextMessage(worker)).toBe(0xcafef00d);
      worker.postMessage({ write: 4 * GiB + 0x20, value: 0x600dcafe });
      expect(await nextMessage(worker)).toBe('ok');
      expect(mem.readU32(4 * GiB + 0x20)).toBe(0x600dcafe);
    } finally {
      await worker.terminate();
      lease.release();
      mem.close();
    }
  });

  it('the mapping outlives its owner while a thread holds a lease, and goes with the last release', async () => {
    const mem = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: MiB }] });
    const lease = mem.lend();
    const worker = startTsWorker(new URL('../test-support/memory-worker.ts', import.meta.url), {
      workerData: lease.handle,
    });
    try {
      await nextMessage(worker);
      mem.close(); // the VM is gone, the thread is not
      expect(mem.isUnmapped).toBe(false);
      worker.postMessage({ write: 0x2000, value: 0x1234 });
      expect(await nextMessage(worker)).toBe('ok'); // no SIGSEGV: the pages are still there
      worker.postMessage({ read: 0x2000 });
      expect(await nextMessage(worker)).toBe(0x1234);
      expect(() => mem.lend()).toThrow(/closed/);
    } finally {
      await worker.terminate();
      lease.release();
      lease.release(); // idempotent: the count does not go below zero
    }
    expect(mem.outstandingLeases).toBe(0);
    expect(mem.isUnmapped).toBe(true);
  });
});

describe('MemfdGuestMemory for snapshots', () => {
  const layout = {
    ranges: [
      { gpa: 0, size: 4 * MiB },
      { gpa: 4 * GiB, size: 2 * MiB },
    ],
  };

  it('touchedRanges lists only the pages written (SEEK_DATA), in guest and file offsets', () => {
    const mem = MemfdGuestMemory.create(layout);
    try {
      expect(mem.touchedRanges()).toEqual([]);
      mem.writeU8(MiB + 5, 1);
      mem.writeU32(4 * GiB + 8192, 7);
      const t = mem.touchedRanges();
      expect(t.some((r) => r.gpa <= MiB && r.gpa + r.size > MiB + 5)).toBe(true);
      const high = t.find((r) => r.gpa >= 4 * GiB)!;
      expect(high.offset - 4 * MiB).toBe(high.gpa - 4 * GiB); // the second range follows the first in the file
      expect(high.gpa).toBeLessThanOrEqual(4 * GiB + 8192);
      expect(t.reduce((n, r) => n + r.size, 0)).toBeLessThan(MiB); // not the whole 6 MiB
    } finally {
      mem.close();
    }
  });

  it('maps a memory file copy-on-write: the data reads back, writes stay private, a wrong size is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-memfile-'));
    const file = path.join(dir, 'memory');
    const bytes = Buffer.alloc(6 * MiB);
    bytes.writeUInt32LE(0xcafe, MiB);
    bytes.writeUInt32LE(0xbeef, 4 * MiB + 16); // gpa 4 GiB + 16
    fs.writeFileSync(file, bytes);
    const mem = MemfdGuestMemory.create({ ...layout, backingFile: file });
    try {
      expect(mem.readU32(MiB)).toBe(0xcafe);
      expect(mem.readU32(4 * GiB + 16)).toBe(0xbeef);
      mem.writeU32(MiB, 1);
      expect(mem.readU32(MiB)).toBe(1);
      expect(fs.readFileSync(file).readUInt32LE(MiB)).toBe(0xcafe);
      expect(mem.touchedRanges().reduce((n, r) => n + r.size, 0)).toBe(6 * MiB);
      fs.truncateSync(file, 5 * MiB);
      expect(() => MemfdGuestMemory.create({ ...layout, backingFile: file })).toThrow(/truncated/);
    } finally {
      mem.close();
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('mapped from a sparse file, touchedRanges is the file’s data and the pages written since, not pages only read', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-memfile-'));
    const file = path.join(dir, 'memory');
    const fd = fs.openSync(file, 'w');
    fs.ftruncateSync(fd, 6 * MiB);
    fs.writeSync(fd, Buffer.alloc(4096, 0x11), 0, 4096, MiB);
    fs.closeSync(fd);
    const mem = MemfdGuestMemory.create({ ...layout, backingFile: file });
    let copy: MemfdGuestMemory | undefined;
    try {
      expect(mem.readU32(2 * MiB)).toBe(0); // read only: a hole stays a hole
      mem.writeU32(3 * MiB + 8, 0xabcd); // a hole written: a private page
      mem.writeU8(MiB + 4, 0x22); // the file's page written
      const t = mem.touchedRanges();
      const has = (gpa: number) => t.some((r) => r.gpa <= gpa && gpa < r.gpa + r.size);
      expect([has(MiB), has(3 * MiB + 8), has(2 * MiB)]).toEqual([true, true, false]);
      expect(t.reduce((n, r) => n + r.size, 0)).toBeLessThan(64 * 1024);
      // Its snapshot holds both pages, as a snapshot of a booted VM would.
      const again = path.join(dir, 'memory-again');
      const s = writeMemoryFile(mem, again);
      expect(s.dataBytes).toBe(2 * 4096);
      copy = MemfdGuestMemory.create({ ...layout, backingFile: again });
      expect([copy.readU8(MiB), copy.readU8(MiB + 4), copy.readU32(3 * MiB + 8)]).toEqual([
        0x11, 0x22, 0xabcd,
      ]);
    } finally {
      copy?.close();
      mem.close();
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('prefault() makes the file’s stored pages this process’s own (copied, writable); its holes and fresh RAM are not touched', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-memfile-'));
    const file = path.join(dir, 'memory');
    const fd = fs.openSync(file, 'w');
    fs.ftruncateSync(fd, 6 * MiB);
    fs.writeSync(fd, Buffer.alloc(16 * 4096, 0x11), 0, 16 * 4096, MiB);
    fs.writeSync(fd, Buffer.alloc(4096, 0x22), 0, 4096, 4 * MiB + 8192); // gpa 4 GiB + 8 KiB
    fs.closeSync(fd);
    const lazy = MemfdGuestMemory.create({ ...layout, backingFile: file });
    const eager = MemfdGuestMemory.create({ ...layout, backingFile: file });
    const fresh = MemfdGuestMemory.create(layout);
    try {
      const kib = (m: MemfdGuestMemory) => mappingKiB(m.hostRanges()[0]!.hostAddress);
      await eager.prefault();
      await fresh.prefault(); // nothing to fault in: fresh RAM stays untouched
      expect(kib(fresh)).toEqual({ Rss: 0, Anonymous: 0 });
      expect(kib(lazy)).toEqual({ Rss: 0, Anonymous: 0 });
      expect(kib(eager)).toEqual({ Rss: 17 * 4, Anonymous: 17 * 4 });
      expect([eager.readU8(MiB), eager.readU8(4 * GiB + 8192), eager.readU8(2 * MiB)]).toEqual([
        0x11, 0x22, 0,
      ]);
      eager.writeU8(MiB, 0x33);
      expect([eager.readU8(MiB), lazy.readU8(MiB), fs.readFileSync(file)[MiB]]).toEqual([0x33, 0x11, 0x11]);
      expect(eager.touchedRanges().reduce((n, r) => n + r.size, 0)).toBe(17 * 4096);
      lazy.close();
      await expect(lazy.prefault()).rejects.toMatchObject({ code: 'EGUESTMEM' });
    } finally {
      lazy.close();
      eager.close();
      fresh.close();
      fs.rmSync(dir, { recursive: true });
    }
  });
});

/** Rss and Anonymous (KiB) of this process's mapping that starts at `address` (/proc/self/smaps). */
function mappingKiB(address: bigint): { Rss: number; Anonymous: number } {
  const lines = fs.readFileSync('/proc/self/smaps', 'utf8').split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${address.toString(16)}-`));
  if (at < 0) throw new Error(`no mapping at 0x${address.toString(16)}`);
  const out = { Rss: NaN, Anonymous: NaN };
  for (const l of lines.slice(at + 1)) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(l)) break; // the next mapping
    const m = /^(Rss|Anonymous):\s+(\d+) kB/.exec(l);
    if (m) out[m[1] as 'Rss' | 'Anonymous'] = Number(m[2]);
  }
  return out;
}
