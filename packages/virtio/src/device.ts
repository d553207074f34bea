// What a virtio device model gives the transport, and what the transport gives it back.
import type { GuestMemory, SyscallName } from '@vmm/hypervisor';
import type { RegionViews } from './memory/region-views';
import type { SplitQueue, SplitQueueState } from './queue/split';

/**
 * Where a device's interrupt goes (the vmm wires `raise` to an irqfd: an edge per event).
 * `lower`, if given, is called when the driver's InterruptACK leaves InterruptStatus at 0, for a
 * level-triggered line (KVM_IRQ_LINE) instead of an irqfd.
 */
export interface InterruptSink {
  raise(): void;
  lower?(): void;
}

/** Handed to a device when the driver sets DRIVER_OK. */
export interface DeviceContext {
  readonly memory: GuestMemory;
  readonly views: RegionViews;
  readonly queues: readonly SplitQueue[];
  /** Features the driver accepted. */
  readonly features: bigint;
  /** Interrupt the driver if queue `index`'s suppression rules allow (after pushUsed). */
  signalUsed(index: number): void;
  /** The device hit an error it cannot recover from: set DEVICE_NEEDS_RESET (§2.1.2). */
  needsReset(): void;
  /**
   * One line about what the guest did wrong that the device dropped or refused (`kind` names the
   * fault; the sink keeps at most one line per kind per 10 s). Counted in the device's stats too.
   */
  log?(kind: string, line: string): void;
  /**
   * The device stopped a batch early with work left in queue `index` (its loops are bounded, so a
   * guest that keeps a ring full cannot hold the thread): call queueNotify(index) again soon,
   * after other work had its turn. Coalesced: several calls before that make one.
   */
  requeue(index: number): void;
  /**
   * Asked by a device between pieces of one long piece of work (a chunk of a disk transfer): true
   * when the owner of the thread wants it back (a command is waiting). The device then parks what
   * it was doing and resumes it on the next queueNotify, or drops it on reset. Absent: never.
   */
  interrupted?(): boolean;
}

/**
 * How a device's own I/O thread builds the device: `(await import(module))[exportName](options)`
 * there returns a VirtioDevice over the same backing (an image's fd, say) that serves its queues
 * synchronously. `options` must be structured-cloneable.
 */
export interface DeviceThreadSpec {
  module: string;
  exportName: string;
  options: unknown;
  /** What the device asks of the kernel while it serves the guest (its thread's seccomp allow-list,
   * beyond polling its eventfds). */
  syscalls: readonly SyscallName[];
}

export interface VirtioDevice {
  /** Device ID (§5). */
  readonly deviceId: number;
  /** Device-specific and transport feature bits the device offers (VERSION_1 included). */
  readonly features: bigint;
  /** QueueNumMax of each queue. */
  readonly queueMaxSizes: readonly number[];
  /** Bytes of device configuration space (§4.2.2: at offset 0x100). */
  readonly configSize: number;
  /** Read `data.length` bytes of config space at `offset` (already bounds-checked). */
  readConfig(offset: number, data: Uint8Array): void;
  /** Write config space; most devices ignore it. */
  writeConfig(offset: number, data: Uint8Array): void;
  /** DRIVER_OK: queues are live (those the driver made ready). */
  activate(ctx: DeviceContext): void;
  /** The driver notified queue `index` (QueueNotify or its ioeventfd). */
  queueNotify(index: number): void;
  /** Device reset (status 0): drop in-flight work; completions that arrive later are discarded. */
  reset(): void;
  /** Counters a user can read (requests, bytes, drops...): names to numbers that only grow. */
  readonly stats?: Readonly<Record<string, number>>;
  /** Start what the device serves before the guest runs (the NAT's host port forwards). */
  start?(): Promise<void>;
  /**
   * Let go of what the device holds (files, sockets); call once no transport uses it. A promise
   * when that takes a while (a device thread still loading): it resolves once all is let go.
   */
  close?(): void | Promise<void>;
  /**
   * The VM pauses: take no more requests and put nothing into the guest's rings until resume()
   * (the piece of work under way finishes first). Absent: the device does nothing on its own
   * while the guest's vCPUs are parked.
   */
  pause?(): void;
  resume?(): void;
  /**
   * The queues' states when the device serves them somewhere else (its own thread), read while
   * paused for a snapshot; absent or undefined: the transport's own queues are current.
   */
  queueStates?(): SplitQueueState[] | undefined;
  /**
   * The device is being brought back from a snapshot, before its transport is restored: what it
   * had on the host side (connections) is gone, and the guest is told where the device has a way
   * to (vsock's TRANSPORT_RESET event).
   */
  restored?(): void;
  /**
   * The device's own state beyond its registers and queues, as plain data (a snapshot writes it
   * as JSON), read while paused: what the guest holds of the device's host side (virtio-fs: its
   * FUSE session). Absent, or undefined: nothing worth keeping.
   */
  saveState?(): unknown;
  /** Why `state` (as saveState gave it, read back from a snapshot) cannot be restored, or undefined. */
  stateFault?(state: unknown): string | undefined;
  /** Take `state` back (stateFault found nothing wrong), before the transport is restored. */
  restoreState?(state: unknown): void;
  /**
   * What the guest learned of the host through this device that stays fixed while it runs (a
   * disk's size), as names to numbers: a snapshot keeps them for hostFactsFault to check.
   */
  hostFacts?(): Readonly<Record<string, number>> | undefined;
  /**
   * Why this device cannot take over from the one a snapshot saw, given that one's hostFacts (the
   * guest would go on with values the host no longer has), or undefined when it can.
   */
  hostFactsFault?(saved: Readonly<Record<string, number>>): string | undefined;
  /**
   * The device can be served from its own I/O thread, built there from this spec; absent: it is
   * served where its transport runs (the main thread).
   */
  threadSpec?(): DeviceThreadSpec;
  /**
   * Grows each time the device started work the host kernel does on the CPUs the guest shares
   * (a disk's writeback): its thread sleeps rather than busy-polls right after.
   */
  readonly hostWorkStarted?: number;
}
