// virtio-blk over the real guest-RAM backing (a memfd mapped through koffi, as the vmm uses):
// fs.readv/fs.writev move sectors straight between the image and those pages.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GuestMemory, MemoryLayout } from '@vmm/hypervisor';
import * as hypervisor from '@vmm/hypervisor';
import { describe, expect, it } from 'vitest';
import { GuestAllocator, GuestDriver, TestInterrupt } from '../../test/support/guest-driver';
import { MmioTransport } from '../mmio/transport';
import { BlkDevice } from './device';
import * as L from './layout';

interface MemfdLike extends GuestMemory {
  close(): void;
}
// The memfd-backed memory is @vmm/hypervisor's; looked up by name so this file builds without it.
const Memfd = (hypervisor as unknown as Record<string, { create(l: MemoryLayout): MemfdLike } | undefined>)
  .MemfdGuestMemory;
if (!Memfd)
  console.warn('SKIP (no MemfdGuestMemory in @vmm/hypervisor yet): virtio-blk over memfd guest RAM');

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!Memfd)('virtio-blk over memfd guest RAM', () => {
  it('reads and writes sectors between the image and mapped guest pages', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-blk-memfd-'));
    const file = path.join(dir, 'disk.img');
    const bytes = randomBytes(512 * 1024);
    fs.writeFileSync(file, bytes);
    const mem = Memfd!.create({ ranges: [{ gpa: 0, size: 4 * 1024 * 1024 }] });
    const dev = new BlkDevice({ path: file });
    try {
      const irq = new TestInterrupt();
      const transport = new MmioTransport({ device: dev, memory: mem, interrupt: irq });
      // The driver only uses GuestMemory's methods, which both memories share.
      const driver = new GuestDriver(transport, mem, new GuestAllocator(0x1000, 4 << 20), irq);
      driver.init(dev.features);
      const q = driver.setupQueue(0);
      driver.driverOk();
      const hdr = (type: number, sector: number) => {
        const h = new Uint8Array(16);
        new DataView(h.buffer).setUint32(0, type, true);
        new DataView(h.buffer).setUint32(8, sector, true);
        return driver.place(h);
      };
      // Read 64 KiB at sector 16.
      const buf = driver.buffer(65536, 0);
      const st = driver.buffer(1, 0xff);
      q.add([
        { addr: hdr(L.VIRTIO_BLK_T_IN, 16), len: 16, write: false },
        { addr: buf, len: 65536, write: true },
        { addr: st, len: 1, write: true },
      ]);
      q.kick();
      expect((await q.waitUsed())[0]!.len).toBe(65537);
      expect(mem.readU8(st)).toBe(0);
      expect(sha256(mem.slice(buf, 65536)!)).toBe(sha256(bytes.subarray(8192, 8192 + 65536)));
      // Write it back at sector 512 and check the file.
      q.add([
        { addr: hdr(L.VIRTIO_BLK_T_OUT, 512), len: 16, write: false },
        { addr: buf, len: 65536, write: false },
        { addr: st, len: 1, write: true },
      ]);
      q.kick();
      await q.waitUsed();
      expect(mem.readU8(st)).toBe(0);
      const file2 = fs.readFileSync(file);
      expect(sha256(file2.subarray(512 * 512, 512 * 512 + 65536))).toBe(
        sha256(bytes.subarray(8192, 8192 + 65536)),
      );
    } finally {
      dev.close();
      mem.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
