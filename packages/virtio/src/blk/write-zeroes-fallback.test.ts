// WRITE_ZEROES that writes zeros (discard=ignore keeps the image allocated, and a file system
// that cannot punch holes gets the same path): a megabyte at a time in a loop (a recursion per
// megabyte once overflowed the stack on large segments), and a write that fails (the file system
// is full) completes the request with IOERR and gives its slot back. On a real, small ext2 made
// with mkfs.ext2 and mounted on a loop device, where this host allows it (root).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeGuest } from '../../test/support/setup';
import { TRANSPORT_FEATURES, bit } from '../features';
import { BlkDevice } from './device';
import * as L from './layout';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-ext2-'));
const mnt = path.join(dir, 'mnt');

function mountExt2(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a file system';
  try {
    execFileSync('mkfs.ext2', ['-q', '-F', path.join(dir, 'fs.img'), '24M'], { stdio: 'ignore' });
    fs.mkdirSync(mnt);
    execFileSync('mount', ['-o', 'loop', path.join(dir, 'fs.img'), mnt], { stdio: 'ignore' });
    return undefined;
  } catch (e) {
    return `cannot make and mount an ext2 loop file system here (${(e as Error).message.split('\n')[0]})`;
  }
}

const why = mountExt2();
if (why) console.warn(`SKIP (${why}): virtio-blk WRITE_ZEROES without hole punching`);
afterAll(() => {
  if (!why) execFileSync('umount', [mnt]);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(why !== undefined)(
  'virtio-blk WRITE_ZEROES writing zeros (discard=ignore), on a small ext2',
  () => {
    let img = '';
    beforeAll(() => {
      // 64 MiB, sparse, on a 24 MiB file system: writing zeros into its holes allocates blocks.
      img = path.join(mnt, 'disk.img');
      fs.writeFileSync(img, Buffer.alloc(4096, 0x77));
      fs.truncateSync(img, 64 << 20);
    });

    function zeroes(sector: number, sectors: number) {
      const dev = new BlkDevice({ path: img, io: 'sync', discard: 'ignore' });
      const g = makeGuest(dev);
      g.driver.init(TRANSPORT_FEATURES | bit(L.VIRTIO_BLK_F_WRITE_ZEROES), 2);
      const q = g.driver.setupQueue(0);
      g.driver.driverOk();
      const h = new Uint8Array(16);
      new DataView(h.buffer).setUint32(0, L.VIRTIO_BLK_T_WRITE_ZEROES, true);
      const s = new Uint8Array(16);
      new DataView(s.buffer).setBigUint64(0, BigInt(sector), true);
      new DataView(s.buffer).setUint32(8, sectors, true);
      const status = g.driver.buffer(1, 0xee);
      q.add([
        { addr: g.driver.place(h), len: 16, write: false },
        { addr: g.driver.place(s), len: 16, write: false },
        { addr: status, len: 1, write: true },
      ]);
      q.kick(); // sync: done when kick returns
      return { status: g.mem.readU8(status), dev };
    }

    it('writes 16 MiB of zeros in 1 MiB pieces, in a loop', () => {
      const { status, dev } = zeroes(0, 32768);
      expect(status).toBe(L.VIRTIO_BLK_S_OK);
      expect(dev.stats.writtenBytes).toBe(16 << 20);
      const head = Buffer.alloc(4096);
      const fd = fs.openSync(img, 'r');
      fs.readSync(fd, head, 0, 4096, 0);
      fs.closeSync(fd);
      expect(head.every((b) => b === 0)).toBe(true);
      expect(dev.inFlight).toBe(0);
      dev.close();
    });

    it('a write of zeros that fails (ENOSPC) completes with IOERR and gives the request slot back', () => {
      const { status, dev } = zeroes(40000, 65536); // 32 MiB more: the file system is full first
      expect(status).toBe(L.VIRTIO_BLK_S_IOERR);
      expect(dev.stats.errors).toBe(1);
      expect(dev.inFlight).toBe(0);
      dev.close();
    });
  },
);
