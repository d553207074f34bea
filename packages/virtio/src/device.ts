// What a virtio device model gives the transport, and what the transport gives it back.
import type { GuestMemory } from '@vmm/hypervisor';
import type { RegionViews } from './memory/region-views';
import type { SplitQueue } from './queue/split';

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
   * The device stopped a batch early with work left in queue `index` (its loops are bounded, so a
   * guest that keeps a ring full cannot hold the thread): call queueNotify(index) again soon,
   * after other work had its turn. Coalesced: several calls before that make one.
   */
  requeue(index: number): void;
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
}
