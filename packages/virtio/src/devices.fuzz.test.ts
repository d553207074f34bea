// Fuzz: whole devices behind the transport, driven by a hostile guest: rings and buffers full of
// random bytes, random register writes, kicks at random, for a bounded time. Nothing may throw
// (synchronously or from a completion), no device error may reach the transport (a device that
// throws is parked, which would hide its bug), and the transport must still answer afterwards.
// Each guest has its own seed, printed; FUZZ_SEED=<seed> makes the first guest replay it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { makeGuest } from '../test/support/setup';
import { fuzzSeed as firstSeed, xorshift32 as rng } from '../test/support/fuzz-seed';
import { BlkDevice } from './blk/device';
import { ConsoleDevice } from './console/device';
import type { VirtioDevice } from './device';
import { TRANSPORT_FEATURES } from './features';
import * as R from './mmio/registers';
import { RngDevice } from './rng/device';

const FUZZ_MS = 800;

async function hammer(name: string, make: () => VirtioDevice & { close?: () => void }): Promise<void> {
  const seed = firstSeed();
  console.log(`${name} fuzz: seeds from ${seed} (FUZZ_SEED=${seed} replays the first guest)`);
  const deadline = Date.now() + FUZZ_MS;
  let rounds = 0;
  while (Date.now() < deadline) {
    const guestSeed = (seed + rounds++) >>> 0;
    const r = rng(guestSeed);
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
    const replay = `${name}, guest ${rounds}: FUZZ_SEED=${guestSeed} replays it`;
    expect(g.transport.lastDeviceError, replay).toBeUndefined();
    expect(g.driver.read32(R.MMIO_MAGIC_VALUE), replay).toBe(R.MMIO_MAGIC);
    dev.close?.();
  }
  console.log(`${name} fuzz: ${rounds} guests, seeds ${seed} to ${(seed + rounds - 1) >>> 0}`);
}

describe('devices under a hostile guest', () => {
  it('virtio-rng', async () => {
    await hammer('virtio-rng', () => new RngDevice());
  });

  it('virtio-console', async () => {
    const input = new PassThrough();
    const timer = setInterval(() => input.write('x'.repeat(17)), 1);
    const sink = { write: () => true };
    try {
      await hammer('virtio-console', () => new ConsoleDevice({ output: sink, input }));
    } finally {
      clearInterval(timer);
    }
  });

  it('virtio-blk', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-blkfuzz-'));
    const file = path.join(dir, 'disk.img');
    fs.writeFileSync(file, Buffer.alloc(256 * 1024));
    try {
      await hammer('virtio-blk', () => new BlkDevice({ path: file, queueSize: 64 }));
      expect(fs.statSync(file).size).toBe(256 * 1024);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
