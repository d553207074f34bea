// Between the main thread and a virtio device's own I/O thread (io/device-thread.ts). The thread
// owns the device's queues while the guest drives them: it polls the queues' ioeventfds itself,
// serves them synchronously into guest memory (a disk's file I/O, say), and raises the irqfd, so
// a request never visits the main thread. The main thread keeps the register file (the
// transport) and sends commands; a command that takes something away (reset, detach, stop) waits
// until the thread has applied it, once the thread is running (CONTROL_READY).
import type { GuestMemoryHandle } from '@vmm/hypervisor';
import type { DeviceThreadSpec, SplitQueueState } from '@vmm/virtio';
import type { MessagePort } from 'node:worker_threads';
import type { SeccompSetting } from '../vcpu/protocol';

export interface DeviceThreadInit {
  /** How the thread builds its device (the device's own threadSpec()). */
  device: DeviceThreadSpec;
  /** Control words: see CONTROL_* below. */
  control: SharedArrayBuffer;
  /** An eventfd the main thread signals after posting a command. */
  wakeFd: number;
  /** Commands arrive here (read with receiveMessageOnPort: the thread never runs an event loop). */
  port: MessagePort;
  /** The most the thread busy-polls its queues after a batch before it sleeps (adaptive-poll.ts); 0: never. */
  pollMaxNs: number;
  /** The device's counters, copied here by the thread after each batch: a Float64 per name of `statsKeys`. */
  stats: SharedArrayBuffer;
  statsKeys: readonly string[];
  /** The thread's seccomp filter, installed before its loop. */
  seccomp: SeccompSetting;
}

export type DeviceThreadCommand = { gen: number } & (
  | {
      /** A boot's guest memory, the transport's InterruptStatus cell, the queues' ioeventfds, the irqfd. */
      type: 'attach';
      memory: GuestMemoryHandle;
      isr: SharedArrayBuffer;
      isrIndex: number;
      kickFds: number[];
      irqFd: number;
    }
  /** DRIVER_OK: the queues as the transport checked them (SplitQueue.state()). */
  | { type: 'activate'; features: bigint; queues: SplitQueueState[] }
  | { type: 'reset' }
  | { type: 'detach' }
  /** The VM pauses: serve nothing until 'resume'. The piece of work under way ends first and, with
   *  `finish`, what the guest had queued is served (a thread that has not served yet is not asked). */
  | { type: 'pause'; finish: boolean }
  | { type: 'resume' }
  /** Paused: post { queues: SplitQueueState[] | null } on the command port (null: not activated). */
  | { type: 'save' }
  /** Paused: post { state } on the command port: the device's saveState() (null: none). */
  | { type: 'save-state' }
  /** Before the restored transport is: the device's state as a snapshot kept it (restoreState). */
  | { type: 'restore-state'; state: unknown }
  | { type: 'stop' }
);

/**
 * What the thread reports: the device must be reset (a broken ring, or a bug in the model), or a
 * line the device logged about what the guest did wrong (DeviceContext.log, limited in the thread
 * to one per kind per 10 s, so a guest repeating a fault costs no message per fault).
 */
export type DeviceThreadReport =
  | {
      type: 'needs-reset';
      /** The command generation it happened under (a report from before a reset is stale). */
      gen: number;
      error?: string;
    }
  | { type: 'notice'; kind: string; line: string };

/** Int32 words of `control`: the last command generation applied (the thread writes it)... */
export const CONTROL_ACK = 0;
/** ...and the last one posted (the main thread writes it before the wake-up): a polling thread
 * watches it, as it does not watch the wake-up eventfd. */
export const CONTROL_POSTED = 1;
/** ...and 1 once the thread has loaded and entered its loop (it sets it before it reads its first
 * command). Until then it has served nothing, and when it starts it applies every command posted
 * so far, in order, before it serves anything: the main thread need not wait for it. Loading takes
 * a Node worker tens of milliseconds, but seconds on a loaded machine or from the TypeScript
 * sources under emulation (7.5-10 s measured in the nested-KVM VM): never counted as a stall. */
export const CONTROL_READY = 2;
export const CONTROL_WORDS = 3;
