// Child process of hostile-remap.test.ts: one device through two "boots" on real memfd guest RAM
// mapped at two different host addresses, the first one's RAM unmapped before the second boot's
// I/O. A device that kept a view of the first boot's RAM would touch the unmapped range and the
// process would die of SIGSEGV: the parent sees that as a failed test, not a dead test runner.
// Prints one JSON line of facts for the parent to check; exits 0 when every check held.
//   remap-child.ts rng|console|net|blk-main|blk-thread|blk-thread-batch
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventfdNotifier, MemfdGuestMemory } from '@vmm/hypervisor';
import {
  BlkDevice,
  ConsoleDevice,
  IO_CHUNK,
  MmioTransport,
  RngDevice,
  TRANSPORT_FEATURES,
  blkLayout as BL,
  mmioRegisters as R,
  type VirtioDevice,
} from '@vmm/virtio';
import { NetDevice, netLayout as NL } from '@vmm/virtio/net';
import {
  GuestAllocator,
  GuestDriver,
  TestInterrupt,
  type DriverQueue,
} from '../../../virtio/test/support/guest-driver';
import { ThreadedBlkDevice } from '../../src/io/threaded-blk-device';

const MiB = 1024 * 1024;
const RAM = 4 * MiB;
const scenario = process.argv[2] ?? '';
/** Devices to close however the scenario ends: an I/O thread left running would keep the process alive. */
const open: { close(): void }[] = [];
const facts: Record<string, unknown> = { scenario };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-remap-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One boot: a transport over `memory` and a driver that has set the device up. */
function boot(device: VirtioDevice, memory: MemfdGuestMemory, extra: { isr?: SharedArrayBuffer } = {}) {
  const irq = new TestInterrupt();
  const transport = new MmioTransport({
    device,
    memory,
    interrupt: irq,
    interruptStatus: extra.isr ? new Int32Array(extra.isr) : undefined,
  });
  const driver = new GuestDriver(transport, memory, new GuestAllocator(0x1000, memory.totalSize), irq);
  assert.notEqual(driver.init(TRANSPORT_FEATURES | device.features), 0n, 'features negotiated');
  const queues = device.queueMaxSizes.map((_, i) =>
    driver.setupQueue(i, Math.min(64, device.queueMaxSizes[i]!)),
  );
  driver.driverOk();
  return { transport, driver, queues, irq };
}

/** Two RAMs alive at once: two different mappings. */
function twoRams(size = RAM): [MemfdGuestMemory, MemfdGuestMemory] {
  const a = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size }] });
  const b = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size }] });
  assert.notEqual(a.hostAddress, b.hostAddress);
  return [a, b];
}

/** The guest fills a buffer through `io` in boot A, reboots into B (A unmapped), and again. */
async function twoBoots(
  device: VirtioDevice,
  io: (b: ReturnType<typeof boot>, mem: MemfdGuestMemory) => Promise<void>,
): Promise<void> {
  const [a, b] = twoRams();
  await io(boot(device, a), a);
  device.reset(); // what the bus does before a new boot's transport
  a.close();
  assert.equal(a.isUnmapped, true);
  await io(boot(device, b), b);
  b.close();
}

function blkRequest(d: GuestDriver, q: DriverQueue, type: number, sector: number, len: number, at?: number) {
  const h = new Uint8Array(16);
  new DataView(h.buffer).setUint32(0, type, true);
  new DataView(h.buffer).setBigUint64(8, BigInt(sector), true);
  const data = at ?? d.buffer(len, 0xee);
  const status = d.buffer(1, 0xee);
  const head = q.add([
    { addr: d.place(h), len: 16, write: false },
    { addr: data, len, write: true },
    { addr: status, len: 1, write: true },
  ]);
  return { head, data, status };
}

async function rng(): Promise<void> {
  const dev = new RngDevice();
  await twoBoots(dev, async ({ driver, queues }, mem) => {
    const q = queues[0]!;
    const buf = driver.buffer(4096, 0xee);
    q.add([{ addr: buf, len: 4096, write: true }]);
    q.kick();
    const [u] = await q.waitUsed(1);
    assert.equal(u!.len, 4096);
    assert.ok(
      mem.slice(buf, 4096)!.some((x) => x !== 0xee),
      'random bytes landed in this boot’s RAM',
    );
  });
}

async function consoleDevice(): Promise<void> {
  const written: Buffer[] = [];
  const dev = new ConsoleDevice({ output: { write: (c) => written.push(Buffer.from(c)) } });
  let n = 0;
  await twoBoots(dev, async ({ driver, queues }) => {
    const tx = queues[1]!;
    tx.add([{ addr: driver.place(Buffer.from(`boot ${++n}\n`)), len: 7, write: false }]);
    tx.kick();
    await tx.waitUsed(1);
  });
  assert.equal(Buffer.concat(written).toString(), 'boot 1\nboot 2\n');
}

async function net(): Promise<void> {
  const frames: Buffer[] = [];
  let toGuest: ((f: Uint8Array, len: number) => void) | undefined;
  const dev = new NetDevice({
    backend: (port) => {
      toGuest = (f, len) => port.send(f, len);
      return {
        input: (f, len) => frames.push(Buffer.from(f.subarray(0, len))),
        flush: () => {},
        close: () => {},
      };
    },
  });
  let n = 0;
  await twoBoots(dev, async ({ driver, queues }, mem) => {
    const [rx, tx] = [queues[NL.RX_QUEUE]!, queues[NL.TX_QUEUE]!];
    const buf = driver.buffer(2048, 0xee);
    rx.add([{ addr: buf, len: 2048, write: true }]);
    rx.kick();
    const frame = Buffer.alloc(60, ++n);
    tx.add([
      { addr: driver.place(new Uint8Array(NL.HDR_SIZE)), len: NL.HDR_SIZE, write: false },
      { addr: driver.place(frame), len: 60, write: false },
    ]);
    tx.kick();
    await tx.waitUsed(1);
    assert.deepEqual(frames.at(-1), frame);
    toGuest!(Buffer.alloc(60, 0x40 + n), 60);
    const [u] = await rx.waitUsed(1);
    assert.equal(u!.len, NL.HDR_SIZE + 60);
    assert.equal(mem.readU8(buf + NL.HDR_SIZE), 0x40 + n, 'the frame landed in this boot’s RAM');
  });
}

function image(size: number, fill?: Buffer): string {
  const file = path.join(dir, `disk-${Math.random()}.img`);
  fs.writeFileSync(file, fill ?? Buffer.alloc(0));
  fs.truncateSync(file, size);
  return file;
}

async function blkMain(): Promise<void> {
  const bytes = randomBytes(64 * 1024);
  const dev = new BlkDevice({ path: image(bytes.length, bytes) });
  let sector = 0;
  await twoBoots(dev, async ({ driver, queues }, mem) => {
    const q = queues[0]!;
    const r = blkRequest(driver, q, BL.VIRTIO_BLK_T_IN, sector, 4096);
    q.kick();
    await q.waitUsed(1);
    assert.equal(mem.readU8(r.status), BL.VIRTIO_BLK_S_OK);
    assert.deepEqual(
      Buffer.from(mem.slice(r.data, 4096)!),
      bytes.subarray(sector * 512, sector * 512 + 4096),
    );
    sector += 8;
  });
  dev.close();
}

/** A ThreadedBlkDevice as the VM's bus drives it: attach a boot's RAM, kicks on an eventfd, irqfd out. */
function threadBoot(dev: ThreadedBlkDevice, mem: MemfdGuestMemory) {
  const isr = new SharedArrayBuffer(4);
  const kick = EventfdNotifier.create();
  const irqfd = EventfdNotifier.create();
  dev.attach({ lease: mem.lend(), isr, isrIndex: 0, kickFds: [kick.fd], irqFd: irqfd.fd });
  const b = boot(dev, mem, { isr });
  const bridge = setInterval(() => {
    if (irqfd.drain() > 0n) b.irq.raise();
  }, 1);
  return {
    ...b,
    kick,
    end: () => {
      clearInterval(bridge);
      dev.detach();
      kick.close();
      irqfd.close();
    },
  };
}

async function blkThread(): Promise<void> {
  const bytes = randomBytes(64 * 1024);
  const dev = new ThreadedBlkDevice({ path: image(bytes.length, bytes), pollUs: 0 });
  open.push(dev);
  const [a, b] = twoRams();
  for (const [i, mem] of [a, b].entries()) {
    const t = threadBoot(dev, mem);
    const q = t.queues[0]!;
    const r = blkRequest(t.driver, q, BL.VIRTIO_BLK_T_IN, 8 * i, 4096);
    t.kick.signal();
    await q.waitUsed(1);
    assert.deepEqual(Buffer.from(mem.slice(r.data, 4096)!), bytes.subarray(4096 * i, 4096 * (i + 1)));
    t.end();
    mem.close();
    assert.equal(mem.isUnmapped, true, 'the thread gave its lease back on detach');
  }
  dev.close();
}

/**
 * A ring full of 256 MiB reads (64 of them: 16 GiB of work), interrupted mid-batch by a reset
 * (status 0) and then by the end of the boot (detach). Each is answered within a chunk or two of
 * I/O; the RAM is unmapped right after the detach, and a second boot's I/O lands in its own RAM.
 */
async function blkThreadBatch(): Promise<void> {
  const big = 256 * MiB - 4096; // the largest read a chain may carry (DEFAULT_MAX_CHAIN_BYTES with its header)
  const dev = new ThreadedBlkDevice({ path: image(256 * MiB), pollUs: 0 });
  open.push(dev);
  const [a, b] = twoRams(big + 8 * MiB);
  const readBytes = () => dev.stats.readBytes;
  const waitProgress = async (from: number) => {
    for (let i = 0; i < 2000 && readBytes() <= from; i++) await sleep(5);
    assert.ok(
      readBytes() > from,
      `the thread is under way with the batch (${JSON.stringify(dev.stats)}, ${dev.lastDeviceError})`,
    );
  };
  const t = threadBoot(dev, a);
  const q = t.queues[0]!;
  const buf = t.driver.alloc.alloc(big, 4096); // the 256 MiB buffer every request reads into
  // Three descriptors per request: a ring of 64 holds 21 of them (5.25 GiB of reads).
  const perRing = Math.floor(q.size / 3);
  for (let i = 0; i < perRing; i++) blkRequest(t.driver, q, BL.VIRTIO_BLK_T_IN, 0, big, buf);
  t.kick.signal();
  await waitProgress(0);
  let before = readBytes();
  t.driver.write32(R.MMIO_STATUS, 0); // reset: blocks until the thread let go of the ring
  const afterReset = readBytes();
  facts.resetChunks = (afterReset - before) / IO_CHUNK;
  await sleep(50);
  assert.equal(readBytes(), afterReset, 'nothing more is read after the reset');
  // Set up again, the same ring refilled, then the boot ends in the middle of it.
  assert.notEqual(t.driver.init(TRANSPORT_FEATURES | dev.features), 0n);
  const q2 = t.driver.setupQueue(0, 64);
  t.driver.driverOk();
  for (let i = 0; i < perRing; i++) blkRequest(t.driver, q2, BL.VIRTIO_BLK_T_IN, 0, big, buf);
  t.kick.signal();
  await waitProgress(afterReset);
  before = readBytes();
  t.end(); // detach: blocks until the thread let go of this RAM
  const afterDetach = readBytes();
  facts.detachChunks = (afterDetach - before) / IO_CHUNK;
  a.close();
  assert.equal(a.isUnmapped, true, 'RAM unmapped right after the detach');
  await sleep(50);
  assert.equal(readBytes(), afterDetach, 'nothing more is read after the detach');
  facts.totalReadMiB = afterDetach / MiB;
  assert.ok(afterDetach < 2 * perRing * big, 'both batches were cut short');
  // The next boot: the thread serves it, into its own RAM.
  const t2 = threadBoot(dev, b);
  const q3 = t2.queues[0]!;
  const r = blkRequest(t2.driver, q3, BL.VIRTIO_BLK_T_IN, 0, 4096);
  t2.kick.signal();
  await q3.waitUsed(1);
  assert.equal(b.readU8(r.status), BL.VIRTIO_BLK_S_OK);
  assert.ok(
    b.slice(r.data, 4096)!.every((x) => x === 0),
    'the read landed in the second boot’s RAM',
  );
  t2.end();
  b.close();
  dev.close();
}

/** xorshift32: a reproducible stream from the seed. */
function rng32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

/**
 * Random sequences: 30 boots of each device on fresh memfd RAM, each boot's RAM unmapped when it
 * ends; in each, random requests (some with scribbled descriptors), kicks, and resets in the
 * middle of I/O, never waiting for completions. Then one clean boot must still do its I/O. A
 * device touching a finished boot's RAM dies of SIGSEGV. The seed is printed (REMAP_SEED
 * overrides it).
 */
async function sequence(): Promise<void> {
  const seed = Number(process.env.REMAP_SEED ?? Date.now() & 0x7fffffff);
  facts.seed = seed;
  process.stderr.write(`remap sequence seed ${seed} (REMAP_SEED=${seed} to replay)\n`);
  const r = rng32(seed);
  const bytes = randomBytes(1 << 20);
  const devices: { name: string; make: () => VirtioDevice & { close?(): void }; thread: boolean }[] = [
    { name: 'rng', make: () => new RngDevice(), thread: false },
    { name: 'console', make: () => new ConsoleDevice({ output: { write: () => true } }), thread: false },
    {
      name: 'net',
      make: () => new NetDevice({ backend: () => ({ input: () => {}, flush: () => {}, close: () => {} }) }),
      thread: false,
    },
    { name: 'blk', make: () => new BlkDevice({ path: image(bytes.length, bytes) }), thread: false },
    {
      name: 'blk-thread',
      make: () => {
        const d = new ThreadedBlkDevice({ path: image(bytes.length, bytes), pollUs: r() % 2 ? 0 : 200 });
        open.push(d);
        return d;
      },
      thread: true,
    },
  ];
  for (const spec of devices) {
    const dev = spec.make();
    for (let b = 0; b < 30; b++) {
      const mem = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: RAM }] });
      const t = spec.thread
        ? threadBoot(dev as ThreadedBlkDevice, mem)
        : { ...boot(dev, mem), kick: undefined, end: () => dev.reset() };
      const steps = 1 + (r() % 12);
      for (let s = 0; s < steps; s++) {
        const q = t.queues[r() % t.queues.length]!;
        const op = r() % 10;
        try {
          if (op < 5) {
            // A request: a header (blk) or a plain buffer, readable or writable, maybe scribbled.
            const h = new Uint8Array(16);
            new DataView(h.buffer).setUint32(
              0,
              [BL.VIRTIO_BLK_T_IN, BL.VIRTIO_BLK_T_OUT, BL.VIRTIO_BLK_T_FLUSH][r() % 3]!,
              true,
            );
            new DataView(h.buffer).setUint32(8, r() % 4096, true);
            const len = 512 * (1 + (r() % 64));
            q.add([
              { addr: t.driver.place(h), len: 16, write: false },
              { addr: t.driver.buffer(len), len, write: r() % 2 === 0 },
              { addr: t.driver.buffer(1), len: 1, write: true },
            ]);
            if (r() % 4 === 0) mem.writeU32(q.desc + 16 * (r() % q.size), r()); // a scribbled descriptor
          } else if (op < 8) {
            if (t.kick) t.kick.signal();
            else q.kick();
          } else if (op < 9) {
            t.driver.write32(R.MMIO_STATUS, 0); // reset in the middle of whatever is in flight
            break;
          } else {
            await sleep(r() % 3);
          }
        } catch {
          break; // the test driver's own limits (a full queue): end this boot
        }
      }
      t.end();
      if (spec.thread) await sleep(0);
      mem.close();
      // Leases held for I/O still in flight (a pool thread's readv, a disk thread) come back.
      for (let i = 0; i < 400 && !mem.isUnmapped; i++) await sleep(5);
      assert.equal(mem.isUnmapped, true, `${spec.name}: boot ${b}'s RAM was given back`);
    }
    // A clean boot after all that: I/O still works, into its own RAM.
    const mem = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: RAM }] });
    if (spec.name.startsWith('blk')) {
      const t = spec.thread
        ? threadBoot(dev as ThreadedBlkDevice, mem)
        : { ...boot(dev, mem), kick: undefined, end: () => dev.reset() };
      const q = t.queues[0]!;
      const req = blkRequest(t.driver, q, BL.VIRTIO_BLK_T_IN, 8, 4096);
      if (t.kick) t.kick.signal();
      else q.kick();
      await q.waitUsed(1);
      assert.equal(mem.readU8(req.status), BL.VIRTIO_BLK_S_OK, `${spec.name} after the sequence`);
      t.end();
    }
    mem.close();
    facts[spec.name] = 'ok';
  }
}

const scenarios: Record<string, () => Promise<void>> = {
  sequence,
  rng,
  console: consoleDevice,
  net,
  'blk-main': blkMain,
  'blk-thread': blkThread,
  'blk-thread-batch': blkThreadBatch,
};

let code = 0;
try {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario '${scenario}'`);
  await run();
  facts.ok = true;
  process.stdout.write(`${JSON.stringify(facts)}\n`);
} catch (e) {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  code = 1;
} finally {
  for (const d of open) d.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
// Threads and timers of a failed scenario must not keep the process alive.
process.exit(code);
