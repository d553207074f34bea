// The device side of a split virtqueue: virtio 1.2 §2.7. Every index, address and length the
// guest gives is checked; chains are capped (queue size, total bytes) and loop-proof. A malformed
// chain is returned to the guest with used length 0 (the request fails); a broken ring (bad head
// index, avail idx running ahead by more than the queue size) stops the queue: `broken` is set
// and the transport raises DEVICE_NEEDS_RESET. Nothing here throws for any guest value.
//
// The rings' fields that the driver and the device change under each other (avail and used idx,
// used_event, avail_event, used elements) go through aligned typed arrays, never a DataView: the
// JS memory model promises an aligned typed-array access is one access, and V8's unoptimized
// DataView code moves a u16 a byte at a time. A torn avail idx (0x03ff→0x0400 read as 0x0300)
// looks like a driver running ahead and parks a healthy device; a torn used idx or avail_event
// misleads the guest's driver. Typed arrays are host-endian: little, as the rings are, on every
// host we run on (x86_64, arm64).
import type { RegionViews } from '../memory/region-views';
import type { DescriptorChain } from './chain';
import { fence } from './fence';
import {
  AVAIL_ALIGN,
  AVAIL_FLAGS,
  AVAIL_IDX,
  AVAIL_RING,
  DESC_ADDR,
  DESC_ALIGN,
  DESC_FLAGS,
  DESC_LEN,
  DESC_NEXT,
  DESC_SIZE,
  MAX_QUEUE_SIZE,
  USED_ALIGN,
  USED_ELEM_SIZE,
  USED_FLAGS,
  USED_IDX,
  USED_RING,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_F_NO_NOTIFY,
  availEventOffset,
  availSize,
  needEvent,
  usedEventOffset,
  usedSize,
} from './layout';

/** Default cap on the bytes one chain may describe (readable + writable). */
export const DEFAULT_MAX_CHAIN_BYTES = 256 * 1024 * 1024;

/** Largest guest-physical address high word that keeps the address an exact number (2^53). */
const MAX_ADDR_HI = 0x1fffff;

export type PopResult = 'chain' | 'empty' | 'broken';

// The rings' fields as indices into u16 and u32 words (layout.ts has them in bytes).
const W_AVAIL_FLAGS = AVAIL_FLAGS >> 1;
const W_AVAIL_IDX = AVAIL_IDX >> 1;
const W_AVAIL_RING = AVAIL_RING >> 1;
const W_USED_FLAGS = USED_FLAGS >> 1;
const W_USED_IDX = USED_IDX >> 1;
const W32_USED_RING = USED_RING >> 2;
const W32_USED_ELEM = USED_ELEM_SIZE >> 2;

/**
 * A queue as the driver set it up (§4.2.2 Queue* registers, after the transport's checks) and how
 * far the device got (§2.7.6, §2.7.8: the next available entry to take, the next used one to
 * write): plain data, the one form in which a queue leaves its SplitQueue (to a device's I/O
 * thread, into a snapshot).
 */
export interface SplitQueueState {
  size: number;
  ready: boolean;
  descAddr: number;
  driverAddr: number;
  deviceAddr: number;
  eventIdx: boolean;
  indirect: boolean;
  nextAvail: number;
  nextUsed: number;
}

export class SplitQueue {
  // Configuration, written by the transport (§4.2.2 Queue* registers).
  size: number;
  ready = false;
  descAddr = 0;
  driverAddr = 0;
  deviceAddr = 0;
  // Negotiated features.
  eventIdx = false;
  indirect = false;

  /** Set when the ring itself is unusable; the queue does nothing more until reset. */
  broken = false;
  /** Chains returned as failed (malformed) since activation. */
  malformed = 0;

  private views: RegionViews | undefined;
  private descView: DataView | undefined;
  private descOff = 0;
  /** The available ring as u16 words: flags, idx, ring[size], used_event. */
  private avail: Uint16Array | undefined;
  /** The used ring as u16 words (flags, idx, ..., avail_event) and as u32 words (elements). */
  private used16: Uint16Array | undefined;
  private used32: Uint32Array | undefined;
  private nextAvail = 0;
  private nextUsed = 0;
  private signalledUsed = 0;
  /** Notifications are suppressed (VIRTQ_USED_F_NO_NOTIFY written, or avail_event held behind). */
  private kicksOff = false;
  /** Between startPolling() and stopPolling(). */
  private polled = false;

  constructor(
    readonly maxSize: number,
    readonly maxChainBytes = DEFAULT_MAX_CHAIN_BYTES,
  ) {
    this.size = maxSize;
  }

  /** Back to the reset state (§2.4): not ready, addresses 0, size = max. */
  reset(): void {
    this.size = this.maxSize;
    this.ready = false;
    this.descAddr = this.driverAddr = this.deviceAddr = 0;
    this.eventIdx = this.indirect = false;
    this.broken = false;
    this.malformed = 0;
    this.views = this.descView = this.avail = this.used16 = this.used32 = undefined;
    this.nextAvail = this.nextUsed = 0;
    this.signalledUsed = 0;
    this.kicksOff = this.polled = false;
  }

  /**
   * Check the configured size and ring addresses against guest memory and make the queue live.
   * Returns false (and leaves the queue not live) when any of them is invalid.
   */
  activate(views: RegionViews): boolean {
    const s = this.size;
    if (!(s > 0 && s <= this.maxSize && s <= MAX_QUEUE_SIZE && (s & (s - 1)) === 0)) return false;
    if (this.descAddr % DESC_ALIGN || this.driverAddr % AVAIL_ALIGN || this.deviceAddr % USED_ALIGN)
      return false;
    const d = views.find(this.descAddr, DESC_SIZE * s);
    if (d < 0) return false;
    const dOff = views.offset;
    const a = views.find(this.driverAddr, availSize(s));
    if (a < 0) return false;
    const aBytes = views.bytesOf(a);
    const aAt = aBytes.byteOffset + views.offset;
    const u = views.find(this.deviceAddr, usedSize(s));
    if (u < 0) return false;
    const uBytes = views.bytesOf(u);
    const uAt = uBytes.byteOffset + views.offset;
    // Aligned in the guest (checked above), and every region's bytes start page-aligned; checked
    // again so that a typed array below cannot throw.
    if (aAt % AVAIL_ALIGN || uAt % USED_ALIGN) return false;
    this.views = views;
    this.descView = views.view(d);
    this.descOff = dOff;
    this.avail = new Uint16Array(aBytes.buffer, aAt, availSize(s) / 2);
    this.used16 = new Uint16Array(uBytes.buffer, uAt, usedSize(s) / 2);
    this.used32 = new Uint32Array(uBytes.buffer, uAt, availEventOffset(s) / 4);
    // Notifications wanted: a ring reused after a reset may still hold a poller's NO_NOTIFY.
    this.used16[W_USED_FLAGS] = 0;
    this.nextAvail = 0;
    this.nextUsed = 0;
    this.signalledUsed = 0;
    this.kicksOff = this.polled = false;
    return true;
  }

  /** This queue's state (see SplitQueueState). */
  state(): SplitQueueState {
    return {
      size: this.size,
      ready: this.ready,
      descAddr: this.descAddr,
      driverAddr: this.driverAddr,
      deviceAddr: this.deviceAddr,
      eventIdx: this.eventIdx,
      indirect: this.indirect,
      nextAvail: this.nextAvail,
      nextUsed: this.nextUsed,
    };
  }

  /**
   * Take over a queue from its state: the configuration, checked against guest memory as
   * activation checks it, and the ring positions. False when a ready queue does not fit guest
   * memory (it is then not live); a queue that was not ready stays so.
   */
  restore(s: SplitQueueState, views: RegionViews): boolean {
    this.reset();
    this.size = s.size;
    this.descAddr = s.descAddr;
    this.driverAddr = s.driverAddr;
    this.deviceAddr = s.deviceAddr;
    this.eventIdx = s.eventIdx;
    this.indirect = s.indirect;
    if (!s.ready) return true;
    if (!this.activate(views)) return false;
    this.ready = true;
    this.restoreIndices(s.nextAvail, s.nextUsed);
    return true;
  }

  /** Restore the ring positions of a live queue (snapshot restore; tests start near a wrap-around). */
  restoreIndices(nextAvail: number, nextUsed: number): void {
    this.nextAvail = nextAvail & 0xffff;
    this.nextUsed = this.signalledUsed = nextUsed & 0xffff;
    if (this.used16) this.used16[W_USED_IDX] = this.nextUsed;
  }

  get live(): boolean {
    return this.ready && this.used16 !== undefined && !this.broken;
  }

  /**
   * Take the next available chain into `chain`. 'chain': `chain` holds a well-formed request.
   * Malformed chains are put back on the used ring with length 0 and skipped. 'broken': the ring
   * is unusable (the transport must signal DEVICE_NEEDS_RESET).
   */
  pop(chain: DescriptorChain): PopResult {
    const av = this.avail;
    if (!av || this.broken || !this.ready) return this.broken ? 'broken' : 'empty';
    for (;;) {
      const availIdx = av[W_AVAIL_IDX]!;
      const pending = (availIdx - this.nextAvail) & 0xffff;
      if (pending === 0) return 'empty';
      if (pending > this.size) return this.fail();
      const slot = this.nextAvail & (this.size - 1);
      const head = av[W_AVAIL_RING + slot]!;
      this.nextAvail = (this.nextAvail + 1) & 0xffff;
      if (head >= this.size) return this.fail();
      if (this.walk(head, chain)) return 'chain';
      this.malformed++;
      this.pushUsed(head, 0);
    }
  }

  /** Whether the available ring holds chains not yet popped. */
  hasAvailable(): boolean {
    const av = this.avail;
    if (!av || this.broken) return false;
    return av[W_AVAIL_IDX] !== this.nextAvail;
  }

  /** Return a chain to the driver: `len` bytes were written into its writable part. */
  pushUsed(head: number, len: number): void {
    const u16 = this.used16;
    const u32 = this.used32;
    if (!u16 || !u32 || this.broken) return;
    const o = W32_USED_RING + W32_USED_ELEM * (this.nextUsed & (this.size - 1));
    u32[o] = head;
    u32[o + 1] = len >>> 0;
    this.nextUsed = (this.nextUsed + 1) & 0xffff;
    // x86 keeps stores in order: the element is visible before the index (§2.7.8.2).
    u16[W_USED_IDX] = this.nextUsed;
  }

  /**
   * Whether the driver wants an interrupt for what was pushed since the last call that said yes
   * (§2.7.7.2: used_event with VIRTIO_F_RING_EVENT_IDX, else VIRTQ_AVAIL_F_NO_INTERRUPT).
   */
  needsNotification(): boolean {
    const av = this.avail;
    if (!av) return false;
    const old = this.signalledUsed;
    if (old === this.nextUsed) return false;
    this.signalledUsed = this.nextUsed;
    // Our used idx store must be visible before we read the driver's used_event / flags.
    fence();
    if (this.eventIdx) {
      const usedEvent = av[usedEventOffset(this.size) >> 1]!;
      return needEvent(usedEvent, this.nextUsed, old);
    }
    return (av[W_AVAIL_FLAGS]! & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /**
   * Ask for a notification on the next available buffer (§2.7.10: avail_event), then report
   * whether buffers arrived meanwhile (the caller processes them instead of waiting).
   */
  enableNotification(): boolean {
    const uv = this.used16;
    if (!uv || this.broken) return false;
    if (this.polled) {
      this.suppressNotification(uv);
      return this.hasAvailable();
    }
    if (this.eventIdx) uv[availEventOffset(this.size) >> 1] = this.nextAvail;
    else if (this.kicksOff) uv[W_USED_FLAGS] = 0;
    this.kicksOff = false;
    // avail_event must be visible before we look at avail idx again, or a kick can be lost.
    fence();
    return this.hasAvailable();
  }

  /**
   * Ask for a notification when the driver adds its next buffer, past what it has already made
   * available (with VIRTIO_F_RING_EVENT_IDX, avail_event = its current avail idx: §2.7.10), when the
   * kick itself is the signal a device waits for (vsock's event queue refill after a reset).
   */
  notifyOnNextAvail(): void {
    const uv = this.used16;
    const av = this.avail;
    if (!uv || !av || this.broken) return;
    if (this.eventIdx) uv[availEventOffset(this.size) >> 1] = av[W_AVAIL_IDX]!;
    else if (this.kicksOff) uv[W_USED_FLAGS] = 0;
    this.kicksOff = false;
    this.polled = false;
    fence();
  }

  /**
   * A poller watches the available ring from now on: the driver is asked not to notify
   * (VIRTQ_USED_F_NO_NOTIFY, or with VIRTIO_F_RING_EVENT_IDX an avail_event one behind what we
   * have taken, which no new index crosses: §2.7.10), and enableNotification() at the end of a
   * batch keeps it so. Only a hint: a driver may still notify.
   */
  startPolling(): void {
    const uv = this.used16;
    if (!uv || this.broken) return;
    this.polled = true;
    this.suppressNotification(uv);
  }

  /** The poller is about to sleep: ask for notifications again; true when buffers arrived meanwhile. */
  stopPolling(): boolean {
    this.polled = false;
    return this.enableNotification();
  }

  private suppressNotification(uv: Uint16Array): void {
    if (this.eventIdx) uv[availEventOffset(this.size) >> 1] = (this.nextAvail - 1) & 0xffff;
    else if (!this.kicksOff) uv[W_USED_FLAGS] = VIRTQ_USED_F_NO_NOTIFY;
    this.kicksOff = true;
  }

  private fail(): PopResult {
    this.broken = true;
    return 'broken';
  }

  /** Walk the chain at `head` into `chain`. False when it is malformed. */
  private walk(head: number, chain: DescriptorChain): boolean {
    const views = this.views!;
    chain.reset(head, views);
    let table = this.descView!;
    let tableOff = this.descOff;
    let tableSize = this.size;
    let budget = this.size; // descriptors we may still visit in this table: loop-proof
    let inIndirect = false;
    let total = 0;
    let idx = head;
    for (;;) {
      if (idx >= tableSize || budget-- <= 0) return false;
      const o = tableOff + DESC_SIZE * idx;
      const lo = table.getUint32(o + DESC_ADDR, true);
      const hi = table.getUint32(o + DESC_ADDR + 4, true);
      const len = table.getUint32(o + DESC_LEN, true);
      const flags = table.getUint16(o + DESC_FLAGS, true);
      const next = table.getUint16(o + DESC_NEXT, true);
      if (hi > MAX_ADDR_HI) return false;
      const addr = hi * 0x1_0000_0000 + lo;
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        // §2.7.5.3.1: only with the feature, not nested, not with NEXT, a whole number of entries.
        if (!this.indirect || inIndirect || flags & VIRTQ_DESC_F_NEXT) return false;
        if (len === 0 || len % DESC_SIZE !== 0) return false;
        const r = views.find(addr, len);
        if (r < 0) return false;
        table = views.view(r);
        tableOff = views.offset;
        tableSize = len / DESC_SIZE;
        budget = Math.min(tableSize, this.size);
        inIndirect = true;
        idx = 0;
        continue;
      }
      const writable = (flags & VIRTQ_DESC_F_WRITE) !== 0;
      // §2.7.4.2: device-readable elements come before device-writable ones.
      if (!writable && chain.writableBytes > 0) return false;
      if (len > 0) {
        total += len;
        if (total > this.maxChainBytes) return false;
        const r = views.find(addr, len);
        if (r < 0) return false;
        if (!chain.push(r, views.offset, len, writable)) return false;
      }
      if (!(flags & VIRTQ_DESC_F_NEXT)) return true;
      idx = next;
    }
  }
}
