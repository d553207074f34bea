// Fuzz: whole devices behind the transport, driven by a hostile guest: rings and buffers full of
// random bytes, random register writes, kicks at random, for a bounded time. Nothing may throw
// (synchronously or from a completion), and the transport must still answer afterwards.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { makeGuest } from '../test/support/setup';
import { BlkDevice } from './blk/device';
import { ConsoleDevice } from './console/device';
import type { VirtioDevice } from './device';
import { TRANSPORT_FEATURES } from './features';
import * as R from './mmio/registers';
import { RngDevice } from './rng/device';

const FUZZ_MS = 800;

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

async function hammer(make: () => VirtioDevice & { close?: () => void }): Promise<number> {
  const r = rng(Date.now());
  const deadline = Date.now() + FUZZ_MS;
  let rounds = 0;
  while (Date.now() < deadline) {
    rounds++;
    const dev = make();
    const g = makeGuest(dev, { maxChainBytes: 1 << 20 });
    g.driver.init(TRANSPORT_FEATURES | dev.features);
    const queues = dev.queueMaxSizes.map((_, i) => g.driver.setupQueue(i, 1 << (r() % 9)));
    g.driver.driverOk();
    const low = g.mem.regions[0]!.bytes;
    for (let step = 0; step < 200; step++) {
      const what = r() % 10;
      if (what < 5) {
        // Scribble over the rings and the memory right after them (descriptors, buffers).
        const q = queues[r() % queues.length]!;
        const base = [q.desc, q.avail, q.used, 0x1000 + (r() % 0x40000)][r() % 4]!;
        for (let k = r() % 64; k > 0; k--) low[(base + (r() % 4096)) % low.length] = r() & 0xff;
      } else if (what < 8) {
        g.transport.notify(r() % (queues.length + 1));
      } else if (what < 9) {
        const v = new Uint8Array(4);
        new DataView(v.buffer).setUint32(0, r(), true);
        const off = [
          R.MMIO_QUEUE_NOTIFY,
          R.MMIO_INTERRUPT_ACK,
          R.MMIO_QUEUE_SEL,
          R.MMIO_QUEUE_READY,
          r() % 0x200,
        ][r() % 5]!;
        g.transport.mmioWrite(off, v);
      } else {
        await new Promise((res) => setImmediate(res));
      }
    }
    await new Promise((res) => setTimeout(res, 5));
    expect(g.driver.read32(R.MMIO_MAGIC_VALUE)).toBe(R.MMIO_MAGIC);
    dev.close?.();
  }
  return rounds;
}

describe('devices under a hostile guest', () => {
  it('virtio-rng', async () => {
    console.log(`rng fuzz: ${await hammer(() => new RngDevice())} guests`);
  });

  it('virtio-console', async () => {
    const input = new PassThrough();
    const timer = setInterval(() => input.write('x'.repeat(17)), 1);
    const sink = { write: () => true };
    try {
      console.log(`console fuzz: ${await hammer(() => new ConsoleDevice({ output: sink, input }))} guests`);
    } finally {
      clearInterval(timer);
    }
  });

  it('virtio-blk', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-blkfuzz-'));
    const file = path.join(dir, 'disk.img');
    fs.writeFileSync(file, Buffer.alloc(256 * 1024));
    try {
      console.log(`blk fuzz: ${await hammer(() => new BlkDevice({ path: file, queueSize: 64 }))} guests`);
      expect(fs.statSync(file).size).toBe(256 * 1024);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
