// A virtio-blk whose request queue is served in its own I/O thread (io/device-worker.ts): the
// transport (registers, feature negotiation, status) stays on the main thread, and this class is
// the device the transport sees. With guest memory that cannot be lent to a thread, or before
// `attach`, the same BlkDevice model serves the queue on the main thread instead.
//
// The thread holds a lease on guest RAM (GuestMemory.lend) from attach until it has let go:
// the lease is released when the thread acknowledges a detach, or when it has exited. A thread
// that does not answer (its file on a stalled file system) is terminated and keeps the lease, so
// guest RAM is never unmapped under it; the disk is then out of service, and says so.
import fs from 'node:fs';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { EventfdNotifier, VmmError, type GuestMemoryLease, type LogSink } from '@vmm/hypervisor';
import {
  BlkDevice,
  type BlkDeviceOptions,
  type BlkDeviceStats,
  type DeviceContext,
  type VirtioDevice,
} from '@vmm/virtio';
import { DEFAULT_DISK_POLL_US, MAX_DISK_POLL_US } from '../config';
import type { SeccompSetting } from '../vcpu/protocol';
import { startWorker } from '../worker-url';
import {
  BLK_STATS,
  CONTROL_ACK,
  CONTROL_POSTED,
  CONTROL_WORDS,
  type DeviceWorkerCommand,
  type DeviceWorkerInit,
  type DeviceWorkerReport,
  type QueueConfig,
} from './device-worker-protocol';

/**
 * How long a command that takes something from the thread may wait for it. The thread answers
 * between two chunks of I/O (milliseconds); only a stalled file system makes it wait this long.
 */
const ACK_TIMEOUT_MS = 10_000;

export interface WorkerBlkDeviceOptions extends BlkDeviceOptions {
  /** The most microseconds the I/O thread busy-polls the queue after a request before it sleeps
   * (adaptive: an idle disk never polls); 0: never. Default DEFAULT_DISK_POLL_US. */
  pollUs?: number;
  /** Where the disk says what went wrong (rate-limited by the receiver). */
  log?: LogSink;
  /** The I/O thread's seccomp filter (default 'off' for a device made on its own; a VM passes its setting). */
  seccomp?: SeccompSetting;
}

/** What a boot hands a worker-served device: see DeviceWorkerCommand 'attach'. */
export interface WorkerAttachment {
  /** Guest RAM lent to the thread; released once the thread let go of it. */
  lease: GuestMemoryLease;
  isr: SharedArrayBuffer;
  isrIndex: number;
  kickFds: number[];
  irqFd: number;
}

export class WorkerBlkDevice implements VirtioDevice {
  readonly deviceId: number;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize: number;
  /** The model: its config space answers here; it serves the queue itself only when not attached. */
  readonly model: BlkDevice;
  /** A report from the thread that could not be delivered (diagnostics). */
  lastDeviceError: string | undefined;

  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
  private readonly threadStats = new Float64Array(new SharedArrayBuffer(8 * BLK_STATS.length));
  private readonly wake = EventfdNotifier.create();
  private readonly kick = Buffer.alloc(8);
  private readonly log: LogSink | undefined;
  private gen = 0;
  private ctx: DeviceContext | undefined;
  private attached: WorkerAttachment | undefined;
  /** Leases the thread may still be using: released when it acknowledges a detach or exits. */
  private readonly leases: GuestMemoryLease[] = [];
  private exited = false;
  /** The thread stopped answering: it was terminated, and the disk is out of service. */
  private failed = false;
  private closed = false;

  constructor(options: WorkerBlkDeviceOptions) {
    const pollUs = options.pollUs ?? DEFAULT_DISK_POLL_US;
    if (!(Number.isInteger(pollUs) && pollUs >= 0 && pollUs <= MAX_DISK_POLL_US)) {
      this.wake.close();
      throw new VmmError(
        'EDISKPOLL',
        `disk ${options.path}: poll ${pollUs} µs is not a whole number from 0 to ${MAX_DISK_POLL_US}: give one (0 turns polling off)`,
      );
    }
    try {
      this.model = new BlkDevice(options);
    } catch (e) {
      this.wake.close();
      throw e;
    }
    this.log = options.log;
    this.deviceId = this.model.deviceId;
    this.features = this.model.features;
    this.queueMaxSizes = this.model.queueMaxSizes;
    this.configSize = this.model.configSize;
    this.kick.writeBigUInt64LE(1n);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const init: DeviceWorkerInit = {
      blk: {
        path: options.path,
        serial: options.serial,
        queueSize: options.queueSize,
        image: this.model.image,
        discard: options.discard,
      },
      control: this.control.buffer as SharedArrayBuffer,
      wakeFd: this.wake.fd,
      port: port2,
      pollMaxNs: pollUs * 1000,
      stats: this.threadStats.buffer as SharedArrayBuffer,
      seccomp: options.seccomp ?? 'off',
    };
    this.worker = startWorker('device-worker', { workerData: init, transferList: [port2] });
    this.worker.on('message', (r: DeviceWorkerReport) => {
      if (r.error) {
        this.lastDeviceError = r.error;
        this.log?.(
          'blk-error',
          `disk ${this.model.image.path}: device error in its I/O thread: ${firstLine(r.error)}`,
        );
      }
      if (r.gen === this.gen) this.ctx?.needsReset();
    });
    this.worker.on('error', (e) => {
      this.lastDeviceError = e.stack ?? String(e);
      this.log?.('blk-thread', `disk ${this.model.image.path}: its I/O thread failed: ${e.message}`);
    });
    this.worker.on('exit', () => {
      // Whatever it held, it holds no longer.
      this.exited = true;
      for (const l of this.leases.splice(0)) l.release();
    });
    this.worker.unref();
  }

  /** The disk's counters: the thread's while it serves the queue, plus the main thread's model's. */
  get stats(): BlkDeviceStats {
    const out = { ...this.model.stats };
    BLK_STATS.forEach((k, i) => (out[k] += this.threadStats[i]!));
    return out;
  }

  readConfig(offset: number, data: Uint8Array): void {
    this.model.readConfig(offset, data);
  }

  writeConfig(): void {
    this.model.writeConfig();
  }

  /** A boot's plumbing: from now on the thread serves the queue, over RAM lent to it. */
  attach(a: WorkerAttachment): void {
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
    if (this.command({ type: 'detach' }, true)) {
      const i = this.leases.indexOf(a.lease);
      if (i >= 0) this.leases.splice(i, 1);
      a.lease.release();
    }
  }

  activate(ctx: DeviceContext): void {
    if (this.failed) return ctx.needsReset();
    if (!this.attached) return this.model.activate(ctx);
    this.ctx = ctx;
    this.command({ type: 'activate', features: ctx.features, queues: ctx.queues.map(queueConfig) });
  }

  queueNotify(index: number): void {
    const fd = this.attached?.kickFds[index];
    if (fd === undefined) return this.model.queueNotify();
    // A QueueNotify that no ioeventfd caught: hand it to the thread the way the guest would.
    fs.writeSync(fd, this.kick);
  }

  reset(): void {
    this.ctx = undefined;
    this.model.reset();
    if (this.attached) this.command({ type: 'reset' }, true);
  }

  /** Stop the thread, then close the image (never under an I/O still running). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.attached = undefined;
    const stopped = this.command({ type: 'stop' }, true);
    void this.worker.terminate();
    this.port.close();
    this.wake.close();
    // A thread that did not stop may still be in a read or write on the image: leave the fd open.
    if (stopped) this.model.close();
  }

  /** Post a command; with `wait`, block until the thread applied it. False: it did not answer in time. */
  private command(c: DistributiveOmit<DeviceWorkerCommand, 'gen'>, wait = false): boolean {
    if (this.failed || this.exited) return false;
    const gen = ++this.gen;
    this.port.postMessage({ ...c, gen });
    Atomics.store(this.control, CONTROL_POSTED, gen);
    this.wake.signal();
    if (!wait || this.waitFor(gen)) return true;
    this.fail(c.type);
    return false;
  }

  /** Block until the thread has applied command `gen`: it is between chunks of I/O or in poll(2). */
  private waitFor(gen: number): boolean {
    const deadline = Date.now() + ACK_TIMEOUT_MS;
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
    this.lastDeviceError = `the I/O thread did not answer '${what}' within ${ACK_TIMEOUT_MS / 1000} s`;
    this.log?.(
      'blk-stalled',
      `disk ${this.model.image.path}: its I/O thread did not answer within ${ACK_TIMEOUT_MS / 1000} s ` +
        `(is its file on a stalled file system?); the thread is stopped and the disk is out of service`,
    );
    void this.worker.terminate();
    this.ctx?.needsReset();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}

function queueConfig(q: DeviceContext['queues'][number]): QueueConfig {
  return {
    ready: q.ready,
    size: q.size,
    descAddr: q.descAddr,
    driverAddr: q.driverAddr,
    deviceAddr: q.deviceAddr,
    eventIdx: q.eventIdx,
    indirect: q.indirect,
  };
}
