// A guest that keeps a ring full from a second CPU while the device works on it (the review found
// one net TX kick holding the main thread 3 s this way, no timer or signal handler running). Each
// main-thread device must work in bounded batches and let the event loop turn in between: counted
// here as event-loop turns per queue's worth of buffers, not as time.
import { describe, expect, it } from 'vitest';
import { MemfdGuestMemory } from '@vmm/hypervisor';
import { startTsWorker, nextMessage } from '../../hypervisor/src/test-support/ts-worker';
import { GuestAllocator, GuestDriver, TestInterrupt } from '../test/support/guest-driver';
import { ConsoleDevice } from './console/device';
import { CONSOLE_TRANSMITQ } from './console/layout';
import type { VirtioDevice } from './device';
import { TRANSPORT_FEATURES } from './features';
import * as R from './mmio/registers';
import { MmioTransport } from './mmio/transport';
import { NetDevice } from './net/device';
import * as NL from './net/layout';
import { RngDevice } from './rng/device';

const RAM = 4 * 1024 * 1024;
const TOTAL = 20_000;

async function flood(device: VirtioDevice, queue: number, len: number, writable: boolean) {
  const memory = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: RAM }] });
  const lease = memory.lend();
  const irq = new TestInterrupt();
  const transport = new MmioTransport({ device, memory, interrupt: irq });
  const driver = new GuestDriver(transport, memory, new GuestAllocator(0x1000, RAM), irq);
  driver.init(TRANSPORT_FEATURES | device.features);
  const queues = device.queueMaxSizes.map((_, i) => driver.setupQueue(i, 64));
  driver.driverOk();
  const q = queues[queue]!;
  const buffer = driver.buffer(len, 0);
  // The frame a net device sends needs a header first: zeros are a valid virtio_net_hdr.
  // At each turn of the event loop: how many buffers the device used since the last turn.
  let turns = 0;
  let stop = false;
  let lastUsed = 0;
  let maxPerTurn = 0;
  const spin = () => {
    turns++;
    const u = q.usedIdx();
    maxPerTurn = Math.max(maxPerTurn, (u - lastUsed) & 0xffff);
    lastUsed = u;
    if (!stop) next = setImmediate(spin);
  };
  // The spin reads the ring in guest RAM: it must not run once the RAM is unmapped below (a
  // pending one did, when the flooder had already exited and terminate() resolved at once:
  // SIGSEGV in the test process).
  let next: NodeJS.Immediate | undefined = setImmediate(spin);
  const worker = startTsWorker(new URL('../test/support/ring-flooder.ts', import.meta.url), {
    workerData: {
      memory: lease.handle,
      size: q.size,
      desc: q.desc,
      avail: q.avail,
      used: q.used,
      buffer,
      len,
      writable,
      total: TOTAL,
    },
  });
  expect(await nextMessage(worker)).toBe('full');
  const result = nextMessage<{ made: number }>(worker);
  // The flooder does not kick: the main thread does, now and then, as a guest would when the
  // device asks for it (a spurious kick is harmless). The work comes from the ring staying full.
  q.kick();
  const kicker = setInterval(() => q.kick(), 20);
  const { made } = await result;
  // Kicks go on until the last buffers are used: ones added after the device's last look at the
  // ring wait for a kick, as in a guest (the flooder never kicks).
  for (let i = 0; i < 1000 && q.usedIdx() !== (TOTAL & 0xffff); i++)
    await new Promise((r) => setTimeout(r, 10));
  clearInterval(kicker);
  stop = true;
  clearImmediate(next);
  const used = q.usedIdx();
  await worker.terminate();
  driver.write32(R.MMIO_STATUS, 0); // reset before the RAM goes: the device lets go of its views
  lease.release();
  memory.close();
  return { made, used, turns, maxPerTurn, size: q.size };
}

/**
 * Between two turns of the event loop the device used at most a few queues' worth of buffers: a
 * requeued batch, a kick's batch (each at most a queue's worth), never the whole flood.
 */
function expectBounded(r: { maxPerTurn: number; size: number; turns: number }): void {
  expect(r.maxPerTurn).toBeLessThanOrEqual(4 * r.size);
  expect(r.turns).toBeGreaterThanOrEqual(TOTAL / (4 * r.size));
}

describe('a guest CPU keeping a ring full: the main thread gets its turns', () => {
  it('virtio-net transmit', async () => {
    let frames = 0;
    const dev = new NetDevice({
      backend: () => ({ input: () => frames++, flush: () => {}, close: () => {} }),
    });
    const r = await flood(dev, NL.TX_QUEUE, NL.HDR_SIZE + 60, false);
    console.log(`net tx flood: ${JSON.stringify({ ...r, frames })}`);
    expect(r.made).toBe(TOTAL);
    expect(frames).toBe(TOTAL);
    expectBounded(r);
  });

  it('virtio-console transmit', async () => {
    let bytes = 0;
    const dev = new ConsoleDevice({ output: { write: (c) => (bytes += c.length) } });
    const r = await flood(dev, CONSOLE_TRANSMITQ, 16, false);
    expect(bytes).toBe(16 * TOTAL);
    expectBounded(r);
  });

  it('virtio-rng', async () => {
    const dev = new RngDevice();
    const r = await flood(dev, 0, 16, true);
    expect(dev.stats.bytes).toBe(16 * TOTAL);
    expectBounded(r);
  });
});
