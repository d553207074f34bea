// What a disk may be: a regular file or a block device; anything else is refused at once with a
// sentence (a FIFO used to block the open until a writer came, forever).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openBlkImage } from './image';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-blkimage-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A loop device over a 1 MiB file, where this host lets us make one (root, /dev/loop-control). */
function loopDevice(): string | undefined {
  if (process.getuid?.() !== 0 || !fs.existsSync('/dev/loop-control')) return undefined;
  const file = path.join(dir, 'loop.img');
  fs.writeFileSync(file, Buffer.alloc(1 << 20, 0x5a));
  try {
    return execFileSync('losetup', ['-f', '--show', file], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

describe('disk images', () => {
  it('refuses a FIFO, a directory and a character device at once, each with what it is', () => {
    const fifo = path.join(dir, 'disk.fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => openBlkImage(fifo, true)).toThrow(/is a FIFO, not a regular file or a block device/);
    expect(() => openBlkImage(fifo, false)).toThrow(/is a FIFO/);
    expect(() => openBlkImage(dir, true)).toThrow(/is a directory/);
    expect(() => openBlkImage('/dev/null', true)).toThrow(/is a character device/);
  });

  const loop = loopDevice();
  if (!loop) console.warn('SKIP (needs root and loop devices): a block device as a disk');
  it.skipIf(!loop)('takes a block device, its size from sysfs', () => {
    try {
      const img = openBlkImage(loop!, true);
      expect(img).toMatchObject({ kind: 'block', size: 1 << 20, readonly: true });
      const b = Buffer.alloc(512);
      fs.readSync(img.fd, b, 0, 512, 4096);
      expect(b.every((x) => x === 0x5a)).toBe(true);
      fs.closeSync(img.fd);
    } finally {
      execFileSync('losetup', ['-d', loop!]);
    }
  });
});
