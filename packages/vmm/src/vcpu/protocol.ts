// What the main thread hands a vCPU worker and what the worker reports back.
import type { VirtioIsrSpec } from './virtio-isr-window';

/** A function that attaches a backend's vCPU inside a worker: `import(module)[exportName](handle)`. */
export interface AttachSpec {
  module: string;
  exportName: string;
  handle: unknown;
  /** The ioctl requests the attached vCPU makes from its thread (for its seccomp filter). */
  threadIoctls?: readonly number[];
}

export interface VcpuWorkerInit {
  id: number;
  vcpu: AttachSpec;
  /** Shared control words: see CONTROL_* below. */
  control: SharedArrayBuffer;
  /** COM1: its shared state, where its output goes (at most outLimit bytes), its irqfd. */
  uart: { state: SharedArrayBuffer; outFd: number | null; outLimit?: number; irqFd: number };
  /** MMIO accesses go to the main thread through this mailbox (null: no MMIO devices). */
  mmioMailbox: SharedArrayBuffer | null;
  /** The virtio transports' InterruptStatus cells, answered in the vCPU thread (null: no virtio). */
  virtioIsr: VirtioIsrSpec | null;
  /** The thread's seccomp filter before its run loop: 'on' (kill on a call outside it), 'log', 'off'. */
  seccomp: SeccompSetting;
  /** The GED's pending events (one Int32 word, shared by every vCPU thread and the main thread). */
  gedEvents: SharedArrayBuffer;
  /** Park before the first KVM_RUN (a VM that starts paused; VcpuThread sets the pause word). */
  startPaused?: boolean;
}

export type SeccompSetting = 'on' | 'log' | 'off';

/** Non-zero: leave the run loop (report 'stopped'). */
export const CONTROL_STOP = 0;
/**
 * Non-zero (the pause request's generation): park outside KVM_RUN and report 'paused' with it,
 * until the word is 0 again or STOP is set; the main thread notifies on this word to wake it.
 */
export const CONTROL_PAUSE = 1;
export const CONTROL_WORDS = 2;

export type StopReason =
  | { reason: 'poweroff' }
  | { reason: 'reset' }
  | { reason: 'triple-fault'; /** The vCPU's registers at the fault, when they could be read. */ at?: string }
  | { reason: 'hlt' }
  | { reason: 'stopped' }
  | { reason: 'internal-error'; suberror: number; data: string[]; instruction: string }
  | { reason: 'fail-entry'; hardwareReason: string }
  | { reason: 'crash'; detail: string }
  | { reason: 'error'; detail: string };

export type WorkerMessage =
  | { type: 'ready' }
  /** Parked outside KVM_RUN after a pause request (and 'resumed' when it runs again). */
  | { type: 'paused'; gen: number }
  | { type: 'resumed' }
  | ({ type: 'stopped' } & StopReason)
  /** Something the user should see (the serial output stopped); rate-limited by the receiver. */
  | { type: 'notice'; kind: string; line: string };
