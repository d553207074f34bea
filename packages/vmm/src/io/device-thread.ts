// Entry of a virtio device's own I/O thread (protocol: device-thread-protocol.ts), for any device
// that gives a threadSpec(): the device is built here from it. The thread blocks in poll(2) on its
// wake-up eventfd and the queues' ioeventfds; a kick is served right here: the queue walked, the
// work done synchronously straight into guest memory (a disk's file I/O), the used ring updated
// and the irqfd signalled, once per batch. While requests keep coming, it busy-polls the rings for a
// while after each batch (@vmm/virtio's adaptive-poll.ts) instead of sleeping at once. Nothing a guest does
// throws out of the loop: a model error parks the device in DEVICE_NEEDS_RESET through the main
// thread.
import fs from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { attachGuestMemory, installSeccomp } from '@vmm/hypervisor';
import { deviceThreadPolicy } from '../sandbox/seccomp-policies';
import {
  AdaptivePollWindow,
  RegionViews,
  SplitQueue,
  signalUsedBuffer,
  type DeviceContext,
  type SplitQueueState,
  type VirtioDevice,
} from '@vmm/virtio';
import {
  CONTROL_ACK,
  CONTROL_POSTED,
  CONTROL_READY,
  type DeviceThreadCommand,
  type DeviceThreadInit,
  type DeviceThreadReport,
} from './device-thread-protocol';
import { POLLFD_REVENTS, POLLFD_SIZE, POLLIN, bindPoll, pollTable } from './pollfd';
import { rateLimitedLog } from '../log/rate-limited';

const init = workerData as DeviceThreadInit;
const control = new Int32Array(init.control);
const poll = bindPoll();

const factory = ((await import(init.device.module)) as Record<string, unknown>)[init.device.exportName];
if (typeof factory !== 'function') throw new Error(`${init.device.module} has no ${init.device.exportName}`);
const device = (factory as (options: unknown) => VirtioDevice)(init.device.options);
const stats = new Float64Array(init.stats);
/** Queues the device asked to have served again (DeviceContext.requeue): a bit each. */
let requeued = 0;
let hostWorkSeen = 0;
const scratch = Buffer.alloc(8);
const one = Buffer.alloc(8);
one.writeBigUInt64LE(1n);

interface Attachment {
  views: RegionViews;
  memory: ReturnType<typeof attachGuestMemory>;
  isr: Int32Array;
  kickFds: number[];
  irqFd: number;
}

let gen = 0;
const pollWindow = new AdaptivePollWindow(init.pollMaxNs);
let attached: Attachment | undefined;
let ctx: DeviceContext | undefined;
/** Paused (the VM is): the queues' ioeventfds are not watched and nothing is served until resume. */
let paused = false;
let fds: number[] = [init.wakeFd];
let table = pollTable(fds);
let view = new DataView(table.buffer);

/** Watch the wake-up eventfd, and the queues' kicks unless paused. */
function watch(): void {
  setFds(attached && !paused ? [init.wakeFd, ...attached.kickFds] : [init.wakeFd]);
}

function setFds(list: number[]): void {
  fds = list;
  table = pollTable(list);
  view = new DataView(table.buffer);
}

function drain(fd: number): void {
  try {
    fs.readSync(fd, scratch, 0, 8, null);
  } catch {
    // EAGAIN: already drained
  }
}

/** DeviceContext.log: what the guest did wrong, one line per kind per 10 s, to the main thread. */
const notice = rateLimitedLog((line, kind) => {
  const r: DeviceThreadReport = { type: 'notice', kind, line };
  parentPort!.postMessage(r);
});

function report(error?: unknown): void {
  const r: DeviceThreadReport = { type: 'needs-reset', gen };
  if (error !== undefined) r.error = (error as Error).stack ?? String(error);
  parentPort!.postMessage(r);
}

/** The device model's view of its transport, as the transport would give it on the main thread. */
function context(a: Attachment, features: bigint, states: SplitQueueState[]): DeviceContext {
  const queues = states.map((s, i) => {
    const q = new SplitQueue(device.queueMaxSizes[i] ?? 0);
    q.restore(s, a.views); // the transport checked it against the same RAM: false only if not ready
    return q;
  });
  const raise = (): void => {
    try {
      fs.writeSync(a.irqFd, one);
    } catch {
      // EAGAIN: the counter is full, the guest has an interrupt pending anyway
    }
  };
  return {
    memory: a.memory,
    views: a.views,
    queues,
    features,
    signalUsed: (index) => signalUsedBuffer(queues[index], a.isr, raise),
    needsReset: () => report(),
    log: notice,
    requeue(index: number): void {
      requeued |= 1 << index;
    },
    // A command posted while a request is under way (only reset, detach, pause and stop can be) interrupts
    // it between two pieces of work (a disk's chunks of I/O): the command waits one piece, never a
    // guest-sized batch. Counters are published there too, so the main thread sees a long batch progress.
    interrupted(): boolean {
      publishStats();
      return Atomics.load(control, CONTROL_POSTED) !== gen;
    },
  };
}

/** Publish the device's counters for the main thread. */
function publishStats(): void {
  const s = device.stats;
  if (!s) return;
  for (let i = 0; i < init.statsKeys.length; i++) stats[i] = s[init.statsKeys[i]!] ?? 0;
}

function apply(c: DeviceThreadCommand): void {
  switch (c.type) {
    case 'attach': {
      const memory = attachGuestMemory(c.memory);
      attached = {
        memory,
        views: new RegionViews(memory),
        isr: new Int32Array(c.isr, 4 * c.isrIndex, 1),
        kickFds: c.kickFds,
        irqFd: c.irqFd,
      };
      watch();
      return;
    }
    case 'activate':
      if (!attached) return;
      ctx = context(attached, c.features, c.queues);
      device.activate(ctx);
      return;
    case 'reset':
      device.reset();
      ctx = undefined;
      requeued = 0;
      return;
    case 'detach':
      device.reset();
      ctx = undefined;
      requeued = 0;
      attached = undefined;
      paused = false; // the next boot's devices run from the start
      watch();
      return;
    case 'pause':
      // Finish what the guest queued before its vCPUs parked (the request under way, and the rest
      // of the ring: this command is applied, so interrupted() no longer stops the work), then take
      // nothing until resume: the queues' positions are final, and a snapshot can save them. A
      // pause posted before this thread ran did not wait for it: what is queued stays for resume.
      while (c.finish && (serveRequeued() || pollQueues())) {
        // each round serves at most a batch; the ring is finite and the guest cannot add to it
      }
      paused = true;
      for (const q of ctx?.queues ?? []) if (q.live) q.stopPolling();
      watch();
      return;
    case 'save':
      // The reply goes back on the command port; the main thread reads it once this is acknowledged.
      init.port.postMessage({ queues: ctx ? ctx.queues.map((q) => q.state()) : null });
      return;
    case 'save-state':
      init.port.postMessage({ state: device.saveState?.() ?? null });
      return;
    case 'restore-state':
      device.restoreState?.(c.state);
      return;
    case 'resume':
      paused = false;
      ctx?.queues.forEach((q, i) => {
        if (q.live) requeued |= 1 << i; // look at every ring once: a kick may have come meanwhile
      });
      watch();
      return;
    case 'stop':
      device.reset();
      Atomics.store(control, CONTROL_ACK, c.gen);
      Atomics.notify(control, CONTROL_ACK);
      process.exit(0);
  }
}

function commands(): void {
  drain(init.wakeFd);
  let m;
  while ((m = receiveMessageOnPort(init.port))) {
    const c = m.message as DeviceThreadCommand;
    gen = c.gen;
    try {
      apply(c);
    } catch (e) {
      ctx = undefined;
      report(e);
    }
    Atomics.store(control, CONTROL_ACK, c.gen);
    Atomics.notify(control, CONTROL_ACK);
  }
}

/** Serve what queue `i` holds; a model error parks the device. */
function serve(i: number): void {
  if (!ctx) return;
  try {
    if (ctx.queues[i]?.live) device.queueNotify(i);
  } catch (e) {
    ctx = undefined;
    report(e);
  }
  publishStats();
}

/** Serve the queues the device asked to have served again; true when there were any. */
function serveRequeued(): boolean {
  const mask = requeued;
  if (mask === 0) return false;
  requeued = 0;
  for (let i = 0; mask >> i; i++) if (mask & (1 << i)) serve(i);
  return true;
}

/** Ring checks between two clock reads while spinning. performance.now() allocates on every call
 * (Node 20: 2·10^7 calls, 312 scavenges): read on every check, it made this thread allocate
 * ~80 MB/s and scavenge every ~50 ms (--trace-gc), each pause a stall of the request path and
 * work for V8's helper threads on CPUs the guest needs. 256 checks of a ring take ~10 µs. */
const CHECKS_PER_CLOCK_READ = 256;

/** Spin until a live queue has buffers (true), a command is posted, or `end` (performance.now()) passes. */
function spin(qs: readonly SplitQueue[], end: number): boolean {
  for (;;) {
    for (let k = 0; k < CHECKS_PER_CLOCK_READ; k++) {
      for (let i = 0; i < qs.length; i++) {
        const q = qs[i]!;
        if (q.live && q.hasAvailable()) return true;
      }
    }
    if (Atomics.load(control, CONTROL_POSTED) !== gen || performance.now() >= end) return false;
  }
}

/**
 * Busy-poll the live queues' available rings for the adaptive window, the driver asked not to
 * notify meanwhile (SplitQueue.startPolling); true when it found and served work, and then the
 * queues stay polled for the next call. A posted command ends it early. When this returns
 * false, notifications are on again: the thread may sleep.
 */
function pollQueues(): boolean {
  const c = ctx;
  if (!c) return false;
  const qs = c.queues;
  let found = false;
  // Right after the batch started host work (a disk's writeback), sleep instead: the kernel needs the CPU.
  const hostWork = device.hostWorkStarted ?? 0;
  const justStarted = hostWork !== hostWorkSeen;
  hostWorkSeen = hostWork;
  if (pollWindow.ns > 0 && !justStarted) {
    for (const q of qs) if (q.live) q.startPolling();
    found = spin(qs, performance.now() + pollWindow.ns / 1e6);
  }
  for (let i = 0; i < qs.length; i++) {
    const q = qs[i]!;
    if (!q.live) continue;
    // Re-arm before sleeping; whatever arrived meanwhile is served now, not after a kick.
    if (found ? q.hasAvailable() : q.stopPolling()) {
      found = true;
      serve(i);
    }
  }
  return found;
}

// The device is built and every library loaded: from here on the thread only serves the guest.
if (init.seccomp !== 'off') installSeccomp(deviceThreadPolicy(init.device.syscalls), init.seccomp);
Atomics.store(control, CONTROL_READY, 1);
for (;;) {
  // A command waits at most one batch, even while the guest keeps the thread polling.
  if (Atomics.load(control, CONTROL_POSTED) !== gen) {
    commands();
    continue;
  }
  if (paused) {
    poll(table, fds.length, -1); // only the wake-up eventfd: a command
    commands();
    continue;
  }
  if (serveRequeued()) continue;
  const t0 = performance.now();
  if (pollQueues()) {
    pollWindow.record((performance.now() - t0) * 1e6);
    continue;
  }
  const n = poll(table, fds.length, -1);
  if (n <= 0) continue; // EINTR
  if ((view.getInt16(POLLFD_REVENTS, true) & POLLIN) !== 0) {
    view.setInt16(POLLFD_REVENTS, 0, true);
    commands();
    continue; // the fd list may have changed: poll again
  }
  let kicked = false;
  for (let i = 1; i < fds.length; i++) {
    const rev = view.getInt16(i * POLLFD_SIZE + POLLFD_REVENTS, true);
    view.setInt16(i * POLLFD_SIZE + POLLFD_REVENTS, 0, true);
    if ((rev & POLLIN) === 0) continue;
    drain(fds[i]!);
    kicked = true;
    serve(i - 1);
  }
  if (kicked) pollWindow.record((performance.now() - t0) * 1e6);
}
