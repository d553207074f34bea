// A virtio device served in its own I/O thread (io/device-thread.ts), for any device that gives a
// threadSpec(): the transport (registers, feature negotiation, status) stays on the main thread,
// and this class is the device the transport sees. The main thread keeps its own instance of the
// model (`model`): its config space answers here, and with guest memory that cannot be lent to a
// thread, or before `attach`, it serves the queues on the main thread instead.
//
// The thread holds a lease on guest RAM (GuestMemory.lend) from attach until it has let go: the
// lease is released when the thread acknowledges a detach, or when it has exited. A thread that
// does not answer (a disk's file on a stalled file system) is terminated and keeps the lease, so
// guest RAM is never unmapped under it; the device is then out of service, and says so.
import fs from 'node:fs';
import type { MessagePort, Worker } from 'node:worker_threads';
import { createHostNotifier, type EventNotifier, type GuestMemoryLease, type LogSink } from '@vmm/hypervisor';
import type { DeviceContext, DeviceThreadSpec, SplitQueueState, VirtioDevice } from '@vmm/virtio';
import type { SeccompSetting } from '../vcpu/protocol';
import { LOADING_EXIT_MS, startWorker, workerThreads } from '../worker-url';
import {
  CONTROL_ACK,
  CONTROL_POSTED,
  CONTROL_READY,
  CONTROL_WORDS,
  type DeviceThreadCommand,
  type DeviceThreadInit,
  type DeviceThreadReport,
} from './device-thread-protocol';

/**
 * How long a command that takes something from the running thread may wait for it. The thread
 * answers between two pieces of work (milliseconds); only a stalled file system makes it wait
 * this long. A thread still loading is not waited for (CONTROL_READY).
 */
const ACK_TIMEOUT_MS = 10_000;

/** What became of a command: applied by the running thread, posted to a thread still loading
 * (it applies it, in order, before it serves anything), or not answered in time. */
type Posted = 'applied' | 'posted' | 'failed';

/** A device that can live in a thread: see VirtioDevice.threadSpec. */
export type ThreadableDevice = VirtioDevice & { threadSpec(): DeviceThreadSpec };

export interface ThreadedDeviceOptions {
  /** The device in words, for log lines ("disk /var/img/root.img"). */
  name: string;
  /** The most microseconds the thread busy-polls the queues after a batch before it sleeps
   * (adaptive: an idle device never polls); 0: never. */
  pollUs: number;
  /** Where the device says what went wrong (rate-limited by the receiver). */
  log?: LogSink;
  /** The thread's seccomp filter (default 'off' for a device made on its own; a VM passes its setting). */
  seccomp?: SeccompSetting;
  /** How long a command waits for the running thread before the device is out of service
   * (default 10 s). */
  stallMs?: number;
}

/** What a boot hands a thread-served device: see DeviceThreadCommand 'attach'. */
export interface ThreadAttachment {
  /** Guest RAM lent to the thread; released once the thread let go of it. */
  lease: GuestMemoryLease;
  isr: SharedArrayBuffer;
  isrIndex: number;
  kickFds: number[];
  irqFd: number;
}

export class ThreadedDevice<D extends ThreadableDevice = ThreadableDevice> implements VirtioDevice {
  readonly deviceId: number;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize: number;
  /** The main thread's instance: its config space answers here; it serves the queues only when not attached. */
  readonly model: D;
  readonly name: string;
  /** A report from the thread that could not be delivered (diagnostics). */
  lastDeviceError: string | undefined;

  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
  private readonly statsKeys: readonly string[];
  private readonly threadStats: Float64Array;
  private readonly wake: EventNotifier;
  private readonly kick = Buffer.alloc(8);
  private readonly log: LogSink | undefined;
  private readonly stallMs: number;
  private gen = 0;
  private ctx: DeviceContext | undefined;
  private attached: ThreadAttachment | undefined;
  /** Leases the thread may still be using: released when it acknowledges a detach or exits. */
  private readonly leases: GuestMemoryLease[] = [];
  private exited = false;
  /** The thread stopped answering: it was terminated, and the device is out of service. */
  private failed = false;
  /** close() was called: what it returns, once for every call. */
  private closing: Promise<void> | undefined;

  constructor(model: D, options: ThreadedDeviceOptions) {
    this.model = model;
    this.name = options.name;
    this.log = options.log;
    this.stallMs = options.stallMs ?? ACK_TIMEOUT_MS;
    this.deviceId = model.deviceId;
    this.features = model.features;
    this.queueMaxSizes = model.queueMaxSizes;
    this.configSize = model.configSize;
    this.statsKeys = Object.keys(model.stats ?? {});
    this.threadStats = new Float64Array(new SharedArrayBuffer(8 * Math.max(1, this.statsKeys.length)));
    this.kick.writeBigUInt64LE(1n);
    this.wake = createHostNotifier();
    const { port1, port2 } = new (workerThreads().MessageChannel)();
    this.port = port1;
    const init: DeviceThreadInit = {
      device: model.threadSpec(),
      control: this.control.buffer as SharedArrayBuffer,
      wakeFd: this.wake.fd,
      port: port2,
      pollMaxNs: options.pollUs * 1000,
      stats: this.threadStats.buffer as SharedArrayBuffer,
      statsKeys: this.statsKeys,
      seccomp: options.seccomp ?? 'off',
    };
    try {
      this.worker = startWorker('device-thread', { workerData: init, transferList: [port2] });
    } catch (e) {
      this.wake.close();
      throw e;
    }
    this.worker.on('message', (r: DeviceThreadReport) => {
      if (r.type === 'notice') return this.log?.(r.kind, `${this.name}: ${r.line}`);
      if (r.error) {
        this.lastDeviceError = r.error;
        this.log?.('device-error', `${this.name}: device error in its I/O thread: ${firstLine(r.error)}`);
      }
      if (r.gen === this.gen) this.ctx?.needsReset();
    });
    this.worker.on('error', (e) => {
      this.lastDeviceError = e.stack ?? String(e);
      this.log?.('device-thread', `${this.name}: its I/O thread failed: ${e.message}`);
    });
    this.worker.on('exit', () => {
      // Whatever it held, it holds no longer.
      this.exited = true;
      for (const l of this.leases.splice(0)) l.release();
    });
    this.worker.unref();
  }

  /** The device's counters: the thread's while it serves the queues, plus the main thread's model's. */
  get stats(): Readonly<Record<string, number>> {
    const out: Record<string, number> = { ...this.model.stats };
    this.statsKeys.forEach((k, i) => (out[k] = (out[k] ?? 0) + this.threadStats[i]!));
    return out;
  }

  readConfig(offset: number, data: Uint8Array): void {
    this.model.readConfig(offset, data);
  }

  hostFacts(): Readonly<Record<string, number>> | undefined {
    return this.model.hostFacts?.();
  }

  hostFactsFault(saved: Readonly<Record<string, number>>): string | undefined {
    return this.model.hostFactsFault?.(saved);
  }

  writeConfig(offset: number, data: Uint8Array): void {
    this.model.writeConfig(offset, data);
  }

  /** A boot's plumbing: from now on the thread serves the queues, over RAM lent to it. */
  attach(a: ThreadAttachment): void {
    if (this.failed || this.exited) {
      a.lease.release();
      return;
    }
    this.attached = a;
    this.leases.push(a.lease);
    this.command({
      type: 'attach',
      memory: a.lease.handle,
      isr: a.isr,
      isrIndex: a.isrIndex,
      kickFds: a.kickFds,
      irqFd: a.irqFd,
    });
  }

  /** The boot is over: the thread lets go of its memory and file descriptors before they close. */
  detach(): void {
    const a = this.attached;
    if (!a) return;
    this.attached = undefined;
    this.ctx = undefined;
    const posted = this.command({ type: 'detach' }, true);
    if (posted === 'applied') this.release(a.lease);
    // A thread still loading attaches this RAM before it reads the detach: the lease comes back
    // once it has applied the detach (or has exited), never before.
    else if (posted === 'posted') this.releaseWhenApplied(this.gen, a.lease);
  }

  private release(lease: GuestMemoryLease): void {
    const i = this.leases.indexOf(lease);
    if (i < 0) return; // the exit handler gave it back
    this.leases.splice(i, 1);
    lease.release();
  }

  /** Give `lease` back once the thread has acknowledged command `gen` (checked every 10 ms). */
  private releaseWhenApplied(gen: number, lease: GuestMemoryLease): void {
    const timer = setInterval(() => {
      if (this.exited || Atomics.load(this.control, CONTROL_ACK) >= gen) {
        clearInterval(timer);
        this.release(lease);
      }
    }, 10);
    timer.unref();
  }

  activate(ctx: DeviceContext): void {
    if (this.failed) return ctx.needsReset();
    if (!this.attached) return this.model.activate(ctx);
    this.ctx = ctx;
    this.command({ type: 'activate', features: ctx.features, queues: ctx.queues.map((q) => q.state()) });
  }

  queueNotify(index: number): void {
    const fd = this.attached?.kickFds[index];
    if (fd === undefined) return this.model.queueNotify(index);
    // A QueueNotify that no ioeventfd caught: hand it to the thread the way the guest would.
    fs.writeSync(fd, this.kick);
  }

  reset(): void {
    this.ctx = undefined;
    this.model.reset();
    if (this.attached) this.command({ type: 'reset' }, true);
  }

  start(): Promise<void> {
    return this.model.start?.() ?? Promise.resolve();
  }

  /** The VM pauses: returns once the thread has stopped serving (the piece of work under way done). */
  pause(): void {
    if (this.attached) this.command({ type: 'pause', finish: this.running }, true);
  }

  resume(): void {
    if (this.attached) this.command({ type: 'resume' });
  }

  /** The queues as the thread left them (paused first): a snapshot saves these, not the transport's. */
  queueStates(): SplitQueueState[] | undefined {
    if (!this.attached || !this.ctx) return undefined;
    // A thread that has not run has served nothing: the queues are where activation left them.
    if (!this.running) return this.ctx.queues.map((q) => q.state());
    if (this.command({ type: 'save' }, true) !== 'applied') {
      throw new Error(`${this.name}: its I/O thread did not answer: its queues cannot be saved`);
    }
    const reply = workerThreads().receiveMessageOnPort(this.port)?.message as
      { queues: SplitQueueState[] | null } | undefined;
    return reply?.queues ?? undefined;
  }

  /** The device's own state as its thread holds it (paused first); undefined: none kept. */
  saveState(): unknown {
    if (!this.model.saveState || !this.attached || !this.running) return undefined;
    if (this.command({ type: 'save-state' }, true) !== 'applied') {
      throw new Error(`${this.name}: its I/O thread did not answer: its state cannot be saved`);
    }
    const reply = workerThreads().receiveMessageOnPort(this.port)?.message as { state: unknown } | undefined;
    return reply?.state ?? undefined;
  }

  stateFault(state: unknown): string | undefined {
    return this.model.restoreState ? this.model.stateFault?.(state) : 'the device keeps no state of its own';
  }

  /** The thread's device takes `state` before it serves anything (a loading thread: first thing). */
  restoreState(state: unknown): void {
    if (this.command({ type: 'restore-state', state }, true) === 'failed')
      throw new Error(`${this.name}: its I/O thread did not take the saved state`);
  }

  /**
   * Stop the thread, then close the model (never under work the thread may still be doing).
   * Resolves once the thread is gone or let go, and the device's files are closed.
   */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private closeNow(): Promise<void> {
    this.attached = undefined;
    const stopped = this.command({ type: 'stop' }, true);
    if (stopped === 'posted') {
      // Still loading: not terminated now (LOADING_EXIT_MS; seen in CI when a guest powered off
      // while its disk's thread loaded). It applies the stop first thing once loaded and exits by
      // itself; the process waits for it, and what it reads or may build its device over (the
      // wake-up eventfd, the port, the model's files, shared by number) is closed once it is gone.
      this.worker.ref();
      const last = setTimeout(() => void this.worker.terminate(), LOADING_EXIT_MS);
      last.unref();
      return new Promise((resolve) =>
        this.worker.once('exit', () => {
          clearTimeout(last);
          this.port.close();
          this.wake.close();
          this.model.close?.();
          resolve();
        }),
      );
    }
    void this.worker.terminate();
    this.port.close();
    this.wake.close();
    // A thread that did not answer may still be in a read or write on the model's files (a stalled
    // file system): they are closed once it is gone, and nobody waits for that.
    if (stopped === 'applied' || this.exited) this.model.close?.();
    else this.worker.once('exit', () => this.model.close?.());
    return Promise.resolve();
  }

  /** Whether the thread has loaded and runs its loop. */
  private get running(): boolean {
    return Atomics.load(this.control, CONTROL_READY) === 1;
  }

  /**
   * Post a command; with `wait`, block until the running thread applied it. A thread still loading
   * is not waited for: it had not started when the command was posted (the order of the post and
   * of this check against its own store of CONTROL_READY before its first read), so it applies the
   * command before it serves anything.
   */
  private command(c: DistributiveOmit<DeviceThreadCommand, 'gen'>, wait = false): Posted {
    if (this.failed || this.exited) return 'failed';
    const gen = ++this.gen;
    this.port.postMessage({ ...c, gen });
    Atomics.store(this.control, CONTROL_POSTED, gen);
    this.wake.signal();
    if (!wait || !this.running) return 'posted';
    if (this.waitFor(gen)) return 'applied';
    this.fail(c.type);
    return 'failed';
  }

  /** Block until the thread has applied command `gen`: it is between pieces of work or in poll(2). */
  private waitFor(gen: number): boolean {
    const deadline = Date.now() + this.stallMs;
    for (;;) {
      const acked = Atomics.load(this.control, CONTROL_ACK);
      if (acked >= gen) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.control, CONTROL_ACK, acked, Math.min(left, 100));
      if (this.exited) return false;
    }
  }

  /** The thread did not answer: terminate it (it keeps its lease until it has exited) and say so. */
  private fail(what: string): void {
    this.failed = true;
    this.lastDeviceError = `the I/O thread did not answer '${what}' within ${this.stallMs / 1000} s`;
    this.log?.(
      'device-stalled',
      `${this.name}: its I/O thread did not answer within ${this.stallMs / 1000} s ` +
        `(is its file on a stalled file system?); the thread is stopped and the device is out of service`,
    );
    void this.worker.terminate();
    this.ctx?.needsReset();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}
