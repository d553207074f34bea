import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { MemfdGuestMemory } from './memfd-guest-memory';
import { MemoryFileError, verifyMemoryFile, writeMemoryFile } from './memory-file';

const MiB = 2 ** 20;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-memory-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true }));

function guestRam() {
  const mem = MemfdGuestMemory.create({
    ranges: [
      { gpa: 0, size: 8 * MiB },
      { gpa: 2 ** 32, size: 4 * MiB },
    ],
  });
  mem.write(MiB, Buffer.alloc(3 * 4096, 0x5a)); // three pages
  mem.writeU64(2 ** 32 + 4096 * 7, 0x1122334455667788n);
  mem.writeU8(6 * MiB, 0); // touched, but zero: stays a hole
  return mem;
}

describe('the memory file of a snapshot', () => {
  it('holds the written pages at their layout offsets, holes elsewhere; mapped back it is the same RAM', () => {
    const mem = guestRam();
    const file = path.join(dir, 'memory');
    const s = writeMemoryFile(mem, file);
    mem.close();
    expect(s.size).toBe(12 * MiB);
    expect(s.dataBytes).toBe(4 * 4096);
    expect(fs.statSync(file).size).toBe(12 * MiB);
    expect(fs.statSync(file).blocks * 512).toBeLessThan(MiB); // sparse
    verifyMemoryFile(file, s);
    // The checksum is the CRC-32 of the file's bytes (holes read as zeros): any CRC-32 tool checks it.
    expect(s.crc32).toBe(zlib.crc32(fs.readFileSync(file)).toString(16).padStart(8, '0'));
    // A copy with its holes filled matches (content, not extents).
    const filled = path.join(dir, 'memory-filled');
    fs.writeFileSync(filled, fs.readFileSync(file));
    expect(fs.statSync(filled).blocks * 512).toBeGreaterThanOrEqual(12 * MiB);
    verifyMemoryFile(filled, s);
    const back = MemfdGuestMemory.create({
      ranges: [
        { gpa: 0, size: 8 * MiB },
        { gpa: 2 ** 32, size: 4 * MiB },
      ],
      backingFile: file,
    });
    try {
      expect(Buffer.from(back.slice(MiB, 3 * 4096)!)).toEqual(Buffer.alloc(3 * 4096, 0x5a));
      expect(back.readU64(2 ** 32 + 4096 * 7)).toBe(0x1122334455667788n);
      expect(back.readU8(MiB - 1)).toBe(0);
    } finally {
      back.close();
    }
  });

  it('a changed byte, a truncated file, a page written into a hole: each refused as corrupt', () => {
    const mem = guestRam();
    const file = path.join(dir, 'memory-2');
    const s = writeMemoryFile(mem, file);
    mem.close();
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.of(0x5b), 0, 1, MiB + 100);
    expect(() => verifyMemoryFile(file, s)).toThrow(MemoryFileError);
    fs.writeSync(fd, Buffer.of(0x5a), 0, 1, MiB + 100);
    verifyMemoryFile(file, s);
    fs.writeSync(fd, Buffer.of(1), 0, 1, 5 * MiB);
    expect(() => verifyMemoryFile(file, s)).toThrow(/checksum/);
    fs.writeSync(fd, Buffer.of(0), 0, 1, 5 * MiB); // a zero page again: matches (content, not extents)
    verifyMemoryFile(file, s);
    fs.ftruncateSync(fd, 11 * MiB);
    fs.closeSync(fd);
    expect(() => verifyMemoryFile(file, s)).toThrow(/truncated/);
  });
});
