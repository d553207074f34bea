// Fuzz: virtio-net behind the transport under a hostile guest (random ring and buffer bytes, random
// register writes and kicks) while a backend pushes frames at it, for a bounded time. Nothing may
// throw, the transport keeps answering, and no device error reaches the transport. The seed is
// printed; FUZZ_SEED=<seed> replays it.
import { describe, expect, it } from 'vitest';
import type { FramePort } from '@vmm/net';
import { makeGuest } from '../../test/support/setup';
import { TRANSPORT_FEATURES } from '../features';
import * as R from '../mmio/registers';
import { NetDevice } from './device';
import { fuzzSeed, xorshift32 as rng } from '../../test/support/fuzz-seed';

const FUZZ_MS = 800;

describe('virtio-net under a hostile guest', () => {
  it('never throws, keeps answering, bounded time', async () => {
    const seed = fuzzSeed();
    console.log(`virtio-net fuzz: seed ${seed} (FUZZ_SEED=${seed} replays it)`);
    const r = rng(seed);
    const deadline = Date.now() + FUZZ_MS;
    const frame = new Uint8Array(70_000); // past the largest super-segment
    let rounds = 0;
    let moved = 0;
    while (Date.now() < deadline) {
      rounds++;
      let port: FramePort | undefined;
      const takesOffloads = (r() & 1) === 1; // HOST_TSO4 and GUEST_TSO4 offered, or not
      const dev = new NetDevice({
        queueSize: 64,
        rxBacklog: 8,
        mtu: 1500 + (r() % 4) * 2000,
        backend: (p) => {
          port = p;
          // a loopback backend: every transmitted frame comes straight back
          return { takesOffloads, input: (f, n) => p.send(f, n), flush: () => {}, close: () => {} };
        },
      });
      const g = makeGuest(dev, { maxChainBytes: 1 << 20 });
      g.driver.init(r() % 4 ? dev.features : TRANSPORT_FEATURES | BigInt(r()));
      const queues = dev.queueMaxSizes.map((_, i) => g.driver.setupQueue(i, 1 << (r() % 7)));
      g.driver.driverOk();
      const low = g.mem.regions[0]!.bytes;
      for (let step = 0; step < 200; step++) {
        const what = r() % 14;
        if (what >= 12) {
          // a well-formed chain with hostile contents: rx buffers of any size, tx frames of random
          // bytes whose header asks for checksums and GSO at random offsets
          const qi = what - 12;
          const q = queues[qi]!;
          const len = 1 + (r() % (r() & 1 ? 64 : 4000));
          const addr = g.driver.buffer(len, r() & 0xff);
          if (qi === 1) for (let k = 0; k < Math.min(len, 24); k++) low[addr + k] = r() & 0xff;
          if (qi === 1 && r() & 1) low[addr + 1] = 0; // gso_type NONE, so checksum completion runs
          try {
            q.add([{ addr, len, write: qi === 0 }], { indirect: (r() & 3) === 0 });
            q.kick();
          } catch {
            // the test driver's ring is full: not the device's business
          }
          if (g.alloc.mark() > 0x600000) g.alloc.release(0x200000);
          continue;
        }
        if (what < 5) {
          const q = queues[r() % queues.length]!;
          const base = [q.desc, q.avail, q.used, 0x1000 + (r() % 0x40000)][r() % 4]!;
          for (let k = r() % 64; k > 0; k--) low[(base + (r() % 4096)) % low.length] = r() & 0xff;
        } else if (what < 8) {
          g.transport.notify(r() % (queues.length + 1));
        } else if (what < 10) {
          const tcp = r() & 1; // an IPv4 TCP frame, maybe a super-segment, or random bytes
          if (tcp) {
            frame.set([8, 0, 0x45], 12);
            frame[23] = 6;
            frame[46] = 0x50;
          } else frame[12] = r() & 0xff;
          port!.send(frame, r() % (r() & 1 ? frame.length : 2000), r() & 1 ? r() % 3000 : 0);
        } else if (what < 11) {
          const v = new Uint8Array(4);
          new DataView(v.buffer).setUint32(0, r(), true);
          const off = [
            R.MMIO_QUEUE_NOTIFY,
            R.MMIO_INTERRUPT_ACK,
            R.MMIO_QUEUE_SEL,
            R.MMIO_STATUS,
            r() % 0x200,
          ][r() % 5]!;
          g.transport.mmioWrite(off, v);
        } else {
          await new Promise((res) => setImmediate(res));
        }
      }
      expect(g.transport.lastDeviceError).toBeUndefined();
      expect(g.driver.read32(R.MMIO_MAGIC_VALUE)).toBe(R.MMIO_MAGIC);
      moved += dev.stats.txFrames + dev.stats.rxFrames;
      dev.close();
    }
    console.log(`net fuzz: ${rounds} guests, ${moved} frames moved`);
  });
});
