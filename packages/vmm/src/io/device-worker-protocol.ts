// Between the main thread and a virtio device's I/O thread (io/device-worker.ts). The thread owns
// the device's queues while the guest drives them: it polls the queues' ioeventfds itself, does the
// file I/O synchronously into guest memory, and raises the irqfd, so a request never visits the
// main thread. The main thread keeps the register file (the transport) and sends commands; a
// command that takes something away (reset, detach, stop) waits until the thread has applied it.
import type { GuestMemoryHandle } from '@vmm/hypervisor';
import type { BlkDeviceOptions, BlkDeviceStats, BlkImage } from '@vmm/virtio';
import type { MessagePort } from 'node:worker_threads';
import type { SeccompSetting } from '../vcpu/protocol';

export interface DeviceWorkerInit {
  /** The device to build: a virtio-blk over an image the main thread opened (same fd). */
  blk: Omit<BlkDeviceOptions, 'image' | 'io'> & { image: BlkImage };
  /** Control words: see CONTROL_* below. */
  control: SharedArrayBuffer;
  /** An eventfd the main thread signals after posting a command. */
  wakeFd: number;
  /** Commands arrive here (read with receiveMessageOnPort: the thread never runs an event loop). */
  port: MessagePort;
  /** The most the thread busy-polls its queues after a request before it sleeps (adaptive-poll.ts); 0: never. */
  pollMaxNs: number;
  /** The device's counters, copied here by the thread after each batch (Float64 per BLK_STATS entry). */
  stats: SharedArrayBuffer;
  /** The thread's seccomp filter, installed before its loop. */
  seccomp: SeccompSetting;
}

/** The order of the counters in DeviceWorkerInit.stats. */
export const BLK_STATS = [
  'requests',
  'readBytes',
  'writtenBytes',
  'flushes',
  'errors',
  'unsupported',
  'malformed',
] as const satisfies readonly (keyof BlkDeviceStats)[];

/** One queue as the driver set it up (virtio 1.2 §4.2.2 Queue* registers), checked by the transport. */
export interface QueueConfig {
  ready: boolean;
  size: number;
  descAddr: number;
  driverAddr: number;
  deviceAddr: number;
  eventIdx: boolean;
  indirect: boolean;
}

export type DeviceWorkerCommand = { gen: number } & (
  | {
      /** A boot's guest memory, the transport's InterruptStatus cell, the queues' ioeventfds, the irqfd. */
      type: 'attach';
      memory: GuestMemoryHandle;
      isr: SharedArrayBuffer;
      isrIndex: number;
      kickFds: number[];
      irqFd: number;
    }
  | { type: 'activate'; features: bigint; queues: QueueConfig[] }
  | { type: 'reset' }
  | { type: 'detach' }
  | { type: 'stop' }
);

/** What the thread reports: the device must be reset (a broken ring, or a bug in the model). */
export interface DeviceWorkerReport {
  type: 'needs-reset';
  /** The command generation it happened under (a report from before a reset is stale). */
  gen: number;
  error?: string;
}

/** Int32 words of `control`: the last command generation applied (the thread writes it)... */
export const CONTROL_ACK = 0;
/** ...and the last one posted (the main thread writes it before the wake-up): a polling thread
 * watches it, as it does not watch the wake-up eventfd. */
export const CONTROL_POSTED = 1;
export const CONTROL_WORDS = 2;
