// The generic device thread with a device other than the disk: virtio-rng built in its thread from
// its threadSpec(), driven as KVM would (kick on an eventfd, interrupt out through an irqfd), with
// the thread's seccomp filter on. What the thread served shows in the counters it publishes,
// and the main thread's instance of the model served nothing.
import fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemfdGuestMemory, createHostNotifier } from '@vmm/hypervisor';
import { RngDevice, TRANSPORT_FEATURES, type DeviceThreadSpec } from '@vmm/virtio';
import { GuestAllocator, GuestDriver } from '../../../virtio/test/support/guest-driver';
import { ThreadedDevice } from './threaded-device';
import { SLOW_LOAD_MS } from './test-support/slow-rng';
import { STALL_MS } from './test-support/stalling-rng';
import { threadPlumbing } from './test-support/thread-plumbing';

const RAM = 1024 * 1024;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function boot(device: ThreadedDevice) {
  const memory = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: RAM }] });
  const { irq, transport, kick, attach, close } = threadPlumbing(device, memory);
  cleanups.push(close);
  attach();
  const driver = new GuestDriver(transport, memory, new GuestAllocator(0x1000, RAM), irq);
  driver.init(TRANSPORT_FEATURES);
  const q = driver.setupQueue(0, 16);
  driver.driverOk();
  return { memory, driver, q, kick };
}

/** virtio-rng whose thread builds it from a module that takes SLOW_LOAD_MS to load. */
function slowRngModel() {
  return Object.assign(new RngDevice(), {
    threadSpec: (): DeviceThreadSpec => ({
      module: new URL('./test-support/slow-rng.ts', import.meta.url).href,
      exportName: 'createSlowRngDevice',
      options: { queueSize: 256 },
      syscalls: [],
    }),
  });
}

describe('a device served in its own thread from its threadSpec()', () => {
  it('virtio-rng in a seccomp-filtered thread fills the guest buffers; its counters come from the thread', async () => {
    const model = new RngDevice();
    const device = new ThreadedDevice(model, { name: 'rng', pollUs: 0, seccomp: 'on' });
    const { memory, driver, q, kick } = boot(device);
    const bufs = [0, 1, 2].map(() => driver.buffer(4096, 0));
    for (const b of bufs) q.add([{ addr: b, len: 4096, write: true }]);
    kick.signal();
    const used = await q.waitUsed(3);
    expect(used.map((u) => u.len)).toEqual([4096, 4096, 4096]);
    for (const b of bufs) {
      const bytes = memory.slice(b, 4096)!;
      // 4096 random bytes with no more than ~40 zeros (16 expected): filled, not left as they were.
      expect(bytes.filter((x) => x === 0).length).toBeLessThan(64);
    }
    await vi.waitFor(() => expect(device.stats).toEqual({ bytes: 3 * 4096 }), { timeout: 5000 });
    expect(model.stats.bytes).toBe(0); // the main thread's instance did none of it
  });

  it('a thread that loads for longer than the stall timeout is not out of service: the driver reset, activation and a snapshot pause do not wait for it, and the request queued meanwhile is served', async () => {
    const lines: string[] = [];
    const model = slowRngModel();
    // Commands to a running thread still time out after 1 s; its load takes SLOW_LOAD_MS.
    const device = new ThreadedDevice(model, {
      name: 'rng',
      pollUs: 0,
      stallMs: 1000,
      log: (_k, l) => lines.push(l),
    });
    const t0 = performance.now();
    const { driver, q, kick } = boot(device); // the driver's reset, features, queue, DRIVER_OK
    device.pause();
    const paused = device.queueStates();
    device.resume();
    // Not a timing test: the load blocks for seconds, the boot's commands took none of it.
    expect(performance.now() - t0).toBeLessThan(SLOW_LOAD_MS / 2);
    expect(paused?.[0]).toMatchObject({ nextAvail: 0, nextUsed: 0, ready: true });
    const buf = driver.buffer(512, 0);
    q.add([{ addr: buf, len: 512, write: true }]);
    kick.signal();
    const used = await q.waitUsed(1, 60_000);
    expect(used[0]!.len).toBe(512);
    expect(lines).toEqual([]); // no "did not answer", no DEVICE_NEEDS_RESET
    // Running now: a pause waits for it, and its queues come from the thread.
    device.pause();
    expect(device.queueStates()?.[0]).toMatchObject({ nextAvail: 1, nextUsed: 1 });
  }, 90_000);

  it('closed while its thread still loads, the thread is not terminated mid-load: it applies the stop once loaded and exits by itself, and what it uses is closed after', async () => {
    // Terminating a thread inside koffi's native registration aborts the whole process (seen in CI:
    // a guest powered off while its disk's thread was still loading).
    const closedModel = vi.fn();
    const model = Object.assign(slowRngModel(), { close: closedModel });
    const device = new ThreadedDevice(model, { name: 'rng', pollUs: 0 });
    const worker = (device as unknown as { worker: Worker }).worker;
    const wakeFd = (device as unknown as { wake: { fd: number } }).wake.fd;
    const exited = new Promise<number>((r) => worker.once('exit', r));
    const t0 = performance.now();
    const closing = device.close();
    expect(performance.now() - t0).toBeLessThan(SLOW_LOAD_MS / 2); // close() does not block on it
    let letGo = false;
    void closing.then(() => (letGo = closedModel.mock.calls.length === 1)); // ...its promise waits
    // Until it is gone, its wake-up eventfd stays open and the model is not closed.
    expect(fs.readlinkSync(`/proc/self/fd/${wakeFd}`)).toMatch(/eventfd/);
    expect(closedModel).not.toHaveBeenCalled();
    // Exit code 0: its own process.exit(0) on 'stop'; a terminated worker exits with 1.
    expect(await exited).toBe(0);
    expect(performance.now() - t0).toBeGreaterThan(SLOW_LOAD_MS * 0.9);
    expect(closedModel).toHaveBeenCalledTimes(1);
    expect(() => fs.readlinkSync(`/proc/self/fd/${wakeFd}`)).toThrow();
    await closing;
    expect(letGo).toBe(true); // resolved only once the model was closed
    expect(device.close()).toBe(closing); // once, for every call
  }, 90_000);

  it('a thread stalled in its work is given up on, not waited for at close, and its files are closed once it is gone', async () => {
    const closedModel = vi.fn();
    const model = Object.assign(new RngDevice(), {
      close: closedModel,
      threadSpec: (): DeviceThreadSpec => ({
        module: new URL('./test-support/stalling-rng.ts', import.meta.url).href,
        exportName: 'createStallingRngDevice',
        options: { queueSize: 16 },
        syscalls: [],
      }),
    });
    const lines: string[] = [];
    const device = new ThreadedDevice(model, {
      name: 'rng',
      pollUs: 0,
      stallMs: 300,
      log: (_k, l) => lines.push(l),
    });
    const { driver, q, kick } = boot(device);
    const running = () => (device as unknown as { running: boolean }).running;
    await vi.waitFor(() => expect(running()).toBe(true), { timeout: 30_000 });
    q.add([{ addr: driver.buffer(64, 0), len: 64, write: true }]);
    kick.signal();
    await new Promise((r) => setTimeout(r, 200)); // the thread is in its held queueNotify now
    device.pause(); // not answered within stallMs: the thread is given up on
    expect(lines.some((l) => /did not answer within 0.3 s/.test(l))).toBe(true);
    const t0 = performance.now();
    await device.close();
    expect(performance.now() - t0).toBeLessThan(STALL_MS / 2); // a stalled file system is not waited for
    // The model's files stay open while the thread may still be in a read on them, then close.
    await vi.waitFor(() => expect(closedModel).toHaveBeenCalledTimes(1), { timeout: STALL_MS * 3 });
  }, 60_000);

  it('a spec the thread cannot build from says so in a log line, and the thread gives its RAM back', async () => {
    const lines: string[] = [];
    const model = Object.assign(new RngDevice(), {
      threadSpec: (): DeviceThreadSpec => ({
        module: '@vmm/virtio',
        exportName: 'noSuchDevice',
        options: {},
        syscalls: [],
      }),
    });
    const device = new ThreadedDevice(model, { name: 'rng', pollUs: 0, log: (_k, l) => lines.push(l) });
    const memory = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: RAM }] });
    const kick = createHostNotifier();
    cleanups.push(() => {
      void device.close();
      kick.close();
      memory.close();
    });
    device.attach({
      lease: memory.lend(),
      isr: new SharedArrayBuffer(4),
      isrIndex: 0,
      kickFds: [kick.fd],
      irqFd: kick.fd,
    });
    // A loaded machine takes seconds to start a worker from the TypeScript sources: wait that long.
    await vi.waitFor(() => expect(lines.join('\n')).toMatch(/rng: its I\/O thread failed: .*noSuchDevice/), {
      timeout: 30_000,
      interval: 50,
    });
    await vi.waitFor(() => expect(memory.outstandingLeases).toBe(0), { timeout: 5000 });
    expect(fs.existsSync(`/proc/self/fd/${kick.fd}`)).toBe(true); // the boot's fds are the boot's to close
  });
});
