// A virtio-blk whose request queue is served in its own I/O thread (io/device-worker.ts): the
// transport (registers, feature negotiation, status) stays on the main thread, and this class is
// the device the transport sees. With guest memory that cannot be shared with a thread, or before
// `attach`, the same BlkDevice model serves the queue on the main thread instead.
import fs from 'node:fs';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { EventfdNotifier, VmmError, type GuestMemoryHandle } from '@vmm/hypervisor';
import { BlkDevice, type BlkDeviceOptions, type DeviceContext, type VirtioDevice } from '@vmm/virtio';
import { DEFAULT_DISK_POLL_US, MAX_DISK_POLL_US } from '../config';
import { startWorker } from '../worker-url';
import {
  CONTROL_ACK,
  CONTROL_POSTED,
  CONTROL_WORDS,
  type DeviceWorkerCommand,
  type DeviceWorkerInit,
  type DeviceWorkerReport,
  type QueueConfig,
} from './device-worker-protocol';

/** How long a command that takes something from the thread may wait for it (one batch of I/O). */
const ACK_TIMEOUT_MS = 30_000;

export interface WorkerBlkDeviceOptions extends BlkDeviceOptions {
  /** The most microseconds the I/O thread busy-polls the queue after a request before it sleeps
   * (adaptive: an idle disk never polls); 0: never. Default DEFAULT_DISK_POLL_US. */
  pollUs?: number;
}

/** What a boot hands a worker-served device: see DeviceWorkerCommand 'attach'. */
export interface WorkerAttachment {
  memory: GuestMemoryHandle;
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
  private readonly wake = EventfdNotifier.create();
  private readonly kick = Buffer.alloc(8);
  private gen = 0;
  private ctx: DeviceContext | undefined;
  private attached: WorkerAttachment | undefined;
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
      },
      control: this.control.buffer as SharedArrayBuffer,
      wakeFd: this.wake.fd,
      port: port2,
      pollMaxNs: pollUs * 1000,
    };
    this.worker = startWorker('device-worker', { workerData: init, transferList: [port2] });
    this.worker.on('message', (r: DeviceWorkerReport) => {
      if (r.error) this.lastDeviceError = r.error;
      if (r.gen === this.gen) this.ctx?.needsReset();
    });
    this.worker.on('error', (e) => (this.lastDeviceError = e.stack ?? String(e)));
    this.worker.unref();
  }

  readConfig(offset: number, data: Uint8Array): void {
    this.model.readConfig(offset, data);
  }

  writeConfig(): void {
    this.model.writeConfig();
  }

  /** A boot's plumbing: from now on the thread serves the queue. */
  attach(a: WorkerAttachment): void {
    this.attached = a;
    this.command({ type: 'attach', ...a });
  }

  /** The boot is over: the thread lets go of its memory and file descriptors before they close. */
  detach(): void {
    if (!this.attached) return;
    this.attached = undefined;
    this.ctx = undefined;
    this.command({ type: 'detach' }, true);
  }

  activate(ctx: DeviceContext): void {
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
    this.command({ type: 'stop' }, true);
    void this.worker.terminate();
    this.port.close();
    this.wake.close();
    this.model.close();
  }

  private command(c: DistributiveOmit<DeviceWorkerCommand, 'gen'>, wait = false): void {
    const gen = ++this.gen;
    this.port.postMessage({ ...c, gen });
    Atomics.store(this.control, CONTROL_POSTED, gen);
    this.wake.signal();
    if (wait) this.waitFor(gen);
  }

  /** Block until the thread has applied command `gen`: it is between requests or in poll(2). */
  private waitFor(gen: number): void {
    const deadline = Date.now() + ACK_TIMEOUT_MS;
    for (;;) {
      const acked = Atomics.load(this.control, CONTROL_ACK);
      if (acked >= gen) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new VmmError(
          'EDEVWORKER',
          `the I/O thread of disk ${this.model.image.path} did not answer within ${ACK_TIMEOUT_MS / 1000} s: ` +
            `its file may be on a stalled file system`,
        );
      }
      Atomics.wait(this.control, CONTROL_ACK, acked, left);
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

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
