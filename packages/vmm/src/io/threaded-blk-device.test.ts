// The disk's I/O thread, driven as KVM would: the guest's kick arrives on the queue's eventfd (an
// ioeventfd under KVM), the thread serves the request into real shared guest memory (a memfd) and
// signals the irqfd; the main thread is not involved. The guest side is the TypeScript driver of
// @vmm/virtio's model tests. Whether the thread polls or sleeps is read from what it is doing (the
// system call it sleeps in), not guessed from how long a test waited.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemfdGuestMemory } from '@vmm/hypervisor';
import {
  INTERRUPT_USED_BUFFER,
  STATUS_DEVICE_NEEDS_RESET,
  TRANSPORT_FEATURES,
  bit,
  blkLayout as L,
  mmioRegisters as R,
} from '@vmm/virtio';
import { MAX_DISK_POLL_US } from '../config';
import { GuestAllocator, GuestDriver, type DriverQueue } from '../../../virtio/test/support/guest-driver';
import {
  inEndlessPoll,
  sleepingIn,
  sleepingInUnavailable,
  threadIds,
} from '../../../hypervisor/src/test-support/thread-syscall';
import { ThreadedBlkDevice } from './threaded-blk-device';
import { threadPlumbing } from './test-support/thread-plumbing';

if (sleepingInUnavailable)
  console.warn(`SKIP (${sleepingInUnavailable}): the disk thread's polling and sleeping tests`);

const RAM = 4 * 1024 * 1024;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-worker-blk-'));
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Generous: a loaded machine may take long to get there, and a passing run never waits it out. */
const ASLEEP_WITHIN = { timeout: 20_000, interval: 5 };

/** A disk served by its thread, a driver that has set up its queue, and the boot's eventfds. */
function setup(opts: { attach?: boolean; pollUs?: number; log?: (kind: string, line: string) => void } = {}) {
  const file = path.join(dir, `disk-${Math.random()}.img`);
  const bytes = randomBytes(64 * 1024);
  fs.writeFileSync(file, bytes);
  const memory = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: RAM }] });
  const before = new Set(threadIds());
  const device = new ThreadedBlkDevice({
    path: file,
    serial: 'thread-disk',
    pollUs: opts.pollUs,
    log: opts.log,
  });
  // The disk's I/O thread: started by the constructor.
  const started = threadIds().filter((t) => !before.has(t));
  /** The thread sleeps in poll(2) on its wake-up and kick eventfds, with no timeout: only a kick wakes it. */
  const asleep = () => started.some((t) => inEndlessPoll(sleepingIn(t), 2));
  const { cells, irq, transport, kick, attach, close } = threadPlumbing(device, memory);
  cleanups.push(close);
  if (opts.attach !== false) attach();
  const driver = new GuestDriver(transport, memory, new GuestAllocator(0x1000, RAM), irq);
  expect(driver.init(TRANSPORT_FEATURES | bit(L.VIRTIO_BLK_F_FLUSH), 2)).not.toBe(0n);
  const q = driver.setupQueue(0);
  driver.driverOk();
  return { file, bytes, memory, device, transport, driver, q, kick, irq, cells, asleep };
}

function request(d: GuestDriver, q: DriverQueue, type: number, sector: number, data?: Uint8Array | number) {
  const h = new Uint8Array(16);
  new DataView(h.buffer).setUint32(0, type, true);
  new DataView(h.buffer).setBigUint64(8, BigInt(sector), true);
  const segs = [{ addr: d.place(h), len: 16, write: false }];
  let at = 0;
  if (data instanceof Uint8Array) segs.push({ addr: (at = d.place(data)), len: data.length, write: false });
  else if (data !== undefined) segs.push({ addr: (at = d.buffer(data, 0)), len: data, write: true });
  const status = d.buffer(1, 0xee);
  segs.push({ addr: status, len: 1, write: true });
  return { head: q.add(segs), status, data: at };
}

describe('virtio-blk served in its own I/O thread (ioeventfd in, irqfd out)', () => {
  it('OUT, FLUSH and IN: the file holds what the guest wrote, the guest reads the file, interrupts through the irqfd', async () => {
    const { file, memory, driver, q, kick, cells } = setup();
    const pattern = randomBytes(8192);
    const w = request(driver, q, L.VIRTIO_BLK_T_OUT, 8, pattern);
    const f = request(driver, q, L.VIRTIO_BLK_T_FLUSH, 0);
    kick.signal();
    const used = await q.waitUsed(2);
    expect(used.map((u) => u.id).sort()).toEqual([w.head, f.head].sort());
    expect(memory.readU8(w.status)).toBe(L.VIRTIO_BLK_S_OK);
    expect(memory.readU8(f.status)).toBe(L.VIRTIO_BLK_S_OK);
    expect(sha(fs.readFileSync(file).subarray(8 * 512, 8 * 512 + 8192))).toBe(sha(pattern));

    const r = request(driver, q, L.VIRTIO_BLK_T_IN, 8, 8192);
    kick.signal();
    // The thread set InterruptStatus in the shared cell before signalling.
    const [u] = await q.waitUsed(1);
    expect(u).toEqual({ id: r.head, len: 8193 });
    expect(sha(memory.slice(r.data, 8192)!)).toBe(sha(pattern));
    expect(Atomics.load(new Int32Array(cells), 0) & INTERRUPT_USED_BUFFER).toBe(0); // acked by waitUsed
  });

  it('requests the guest malforms are said from the thread, one line per 10 s however many', async () => {
    const lines: string[] = [];
    const { driver, q, kick } = setup({ log: (kind, line) => lines.push(`${kind} ${line}`) });
    // No 16-byte header, no status byte: returned unused, counted, and said.
    for (let i = 0; i < 5; i++) q.add([{ addr: driver.buffer(8), len: 8, write: false }]);
    kick.signal();
    await q.waitUsed(5);
    await vi.waitFor(() => expect(lines).toHaveLength(1), { timeout: 5000 });
    expect(lines[0]).toMatch(
      /^blk-malformed disk \S+: the guest queued a request without its 16-byte header or its status byte: returned unused$/,
    );
    for (let i = 0; i < 5; i++) q.add([{ addr: driver.buffer(8), len: 8, write: false }]);
    kick.signal();
    await q.waitUsed(5);
    await new Promise((r) => setTimeout(r, 200)); // a second line would have come by now
    expect(lines).toHaveLength(1);
  });

  it('a QueueNotify write that no ioeventfd caught reaches the thread too', async () => {
    const { bytes, memory, driver, q } = setup();
    const r = request(driver, q, L.VIRTIO_BLK_T_IN, 0, 512);
    q.kick();
    await q.waitUsed(1);
    expect(Buffer.from(memory.slice(r.data, 512)!)).toEqual(bytes.subarray(0, 512));
  });

  it('after a reset the thread serves nothing until the driver sets the device up again', async () => {
    const { memory, driver, q, kick } = setup();
    driver.write32(R.MMIO_STATUS, 0);
    request(driver, q, L.VIRTIO_BLK_T_IN, 0, 512);
    kick.signal();
    await new Promise((r) => setTimeout(r, 100));
    expect(q.usedIdx()).toBe(0);
    driver.init(TRANSPORT_FEATURES, 2);
    const q2 = driver.setupQueue(0);
    driver.driverOk();
    const r = request(driver, q2, L.VIRTIO_BLK_T_GET_ID, 0, 20);
    kick.signal();
    await q2.waitUsed(1);
    expect(Buffer.from(memory.slice(r.data, 11)!).toString()).toBe('thread-disk');
  });

  it('paused, the thread serves nothing, a kick included; resumed, it serves what came meanwhile', async () => {
    const { bytes, memory, device, driver, q, kick } = setup();
    device.pause(); // returns once the thread has stopped serving
    const r = request(driver, q, L.VIRTIO_BLK_T_IN, 0, 512);
    kick.signal();
    q.kick();
    await new Promise((res) => setTimeout(res, 200));
    expect(q.usedIdx()).toBe(0);
    device.resume();
    await q.waitUsed(1);
    expect(Buffer.from(memory.slice(r.data, 512)!)).toEqual(bytes.subarray(0, 512));
  });

  it('a broken ring in the thread sets DEVICE_NEEDS_RESET on the main thread transport', async () => {
    const { driver, q, kick } = setup();
    q.publish(1000); // a head index past the queue size
    kick.signal();
    const deadline = Date.now() + 5000;
    while (!(driver.read32(R.MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(driver.read32(R.MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET).toBeTruthy();
  });

  it('without an attached boot the same model serves the queue on the main thread', async () => {
    const { bytes, memory, driver, q } = setup({ attach: false });
    const r = request(driver, q, L.VIRTIO_BLK_T_IN, 1, 512);
    q.kick();
    await q.waitUsed(1);
    expect(Buffer.from(memory.slice(r.data, 512)!)).toEqual(bytes.subarray(512, 1024));
  });

  it.skipIf(sleepingInUnavailable)(
    'while requests keep coming it polls the ring and the driver need not kick; idle, it sleeps until kicked',
    async () => {
      const { bytes, memory, driver, q, asleep } = setup({ pollUs: MAX_DISK_POLL_US });
      // One request after another, each kicked only if the device asks for it (as Linux does). The
      // window starts at 0 and doubles while requests arrive within the most (100 ms): the first
      // requests need their kick, later ones are found by the polling thread.
      let kicks = 0;
      let unkicked = 0;
      for (let i = 0; unkicked < 8 && i < 400; i++) {
        const old = q.availIndex;
        const sector = i % 128;
        const r = request(driver, q, L.VIRTIO_BLK_T_IN, sector, 512);
        if (q.kickIfNeeded(old)) kicks++;
        else unkicked++;
        await q.waitUsed(1);
        expect(Buffer.from(memory.slice(r.data, 512)!)).toEqual(
          bytes.subarray(512 * sector, 512 * (sector + 1)),
        );
      }
      expect(kicks).toBeGreaterThan(0);
      expect(unkicked).toBe(8);
      // Idle: past the window the thread asks for kicks again and sleeps in poll(2), no timeout.
      await vi.waitFor(() => expect(asleep()).toBe(true), ASLEEP_WITHIN);
      const served = q.usedIdx();
      const old = q.availIndex;
      request(driver, q, L.VIRTIO_BLK_T_IN, 0, 512);
      expect(q.kickNeeded(old)).toBe(true);
      expect(asleep()).toBe(true); // nothing but the kick can wake it
      expect(q.usedIdx()).toBe(served);
      q.kick();
      await q.waitUsed(1);
    },
  );

  it.skipIf(sleepingInUnavailable)(
    'poll_us=0: never polls, a request waits for its kick; a bad poll time is refused',
    async () => {
      const { driver, q, kick, asleep } = setup({ pollUs: 0 });
      // The window stays 0 (adaptive-poll.test.ts): after every request the thread goes back to
      // sleep with kicks asked for, so each next request needs one.
      for (let i = 0; i < 10; i++) {
        await vi.waitFor(() => expect(asleep()).toBe(true), ASLEEP_WITHIN);
        const served = q.usedIdx();
        const old = q.availIndex;
        request(driver, q, L.VIRTIO_BLK_T_IN, i, 512);
        expect(q.kickNeeded(old)).toBe(true);
        expect(asleep()).toBe(true);
        expect(q.usedIdx()).toBe(served);
        kick.signal();
        await q.waitUsed(1);
      }
      for (const pollUs of [-1, 1.5, MAX_DISK_POLL_US + 1]) {
        expect(() => new ThreadedBlkDevice({ path: '/nonexistent', pollUs })).toThrow(
          /poll .* µs is not a whole number/,
        );
      }
    },
  );

  it('close() stops the thread, then closes the image', async () => {
    const { device } = setup();
    const fd = device.model.image.fd;
    const ino = fs.fstatSync(fd).ino;
    device.detach();
    device.close();
    // At once for a running thread; once it has exited for one still loading (it could yet build
    // its disk over the image's fd number). The number may be reused by then: compare inodes.
    await vi.waitFor(
      () => {
        let now: number | undefined;
        try {
          now = fs.fstatSync(fd).ino;
        } catch (e) {
          expect((e as Error).message).toMatch(/EBADF/);
        }
        expect(now).not.toBe(ino);
      },
      { timeout: 30_000, interval: 20 },
    );
  });
});
