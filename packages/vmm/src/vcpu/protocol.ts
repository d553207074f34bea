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
/**
 * Who runs the vCPU first (early-run.ts): the main thread may run its first exits while the
 * vCPU's thread is still loading. Each side takes the word from EARLY_NONE with a
 * compare-and-exchange, so exactly one runs it at a time.
 */
export const CONTROL_EARLY = 2;
export const CONTROL_WORDS = 3;

/** Nobody has run the vCPU yet. */
export const EARLY_NONE = 0;
/** The vCPU's thread took it first: no early run. */
export const EARLY_CLAIMED = 1;
/** The main thread runs it. */
export const EARLY_RUNNING = 2;
/** The vCPU's thread is ready and asks for it (the main thread leaves at its next exit). */
export const EARLY_HANDOFF = 3;
/** The main thread has left KVM_RUN, the last exit finished: the vCPU's thread runs it from here. */
export const EARLY_DONE = 4;
/** The guest stopped while the main thread ran it (it reports why): the vCPU's thread must not run. */
export const EARLY_STOPPED = 5;

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
