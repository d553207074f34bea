// A guest-side virtio-mmio driver in TypeScript, for model tests: it lays real descriptor tables
// and rings into guest memory and drives a device through the mmio registers in the order Linux's
// drivers/virtio/virtio_mmio.c and virtio_ring.c do (virtio 1.2 §3.1.1, §4.2.3, §2.7.13).
import type { InterruptSink } from '../../src/device';
import { VIRTIO_F_RING_EVENT_IDX, hasFeature } from '../../src/features';
import type { GuestMemory } from '@vmm/hypervisor';
import * as R from '../../src/mmio/registers';
import type { MmioTransport } from '../../src/mmio/transport';
import * as Q from '../../src/queue/layout';
import { STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_DRIVER_OK, STATUS_FEATURES_OK } from '../../src/status';

/** A bump allocator over a guest-physical range, with marks to free everything after one. */
export class GuestAllocator {
  constructor(
    private next: number,
    private readonly end: number,
  ) {}
  alloc(size: number, align = 16): number {
    const a = Math.ceil(this.next / align) * align;
    if (a + size > this.end) throw new Error(`test guest out of memory (${size} bytes)`);
    this.next = a + size;
    return a;
  }
  mark(): number {
    return this.next;
  }
  release(mark: number): void {
    this.next = mark;
  }
}

/** The interrupt line: counts raises and wakes whoever waits. */
export class TestInterrupt implements InterruptSink {
  count = 0;
  lowered = 0;
  lower(): void {
    this.lowered++;
  }
  private waiters: (() => void)[] = [];
  raise(): void {
    this.count++;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  /** Resolves at the next raise, or after `ms` (so a lost interrupt fails a test, not hangs it). */
  next(ms = 2000): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }
}

/** One buffer of a chain: guest address, length, device-writable or not. */
export interface Segment {
  addr: number;
  len: number;
  write: boolean;
}

export class GuestDriver {
  private readonly word = new Uint8Array(4);
  features = 0n;

  constructor(
    readonly transport: MmioTransport,
    readonly mem: GuestMemory,
    readonly alloc: GuestAllocator,
    readonly irq: TestInterrupt,
  ) {}

  read32(offset: number): number {
    this.transport.mmioRead(offset, this.word);
    return new DataView(this.word.buffer).getUint32(0, true);
  }

  write32(offset: number, value: number): void {
    new DataView(this.word.buffer).setUint32(0, value >>> 0, true);
    this.transport.mmioWrite(offset, this.word);
  }

  readConfig(offset: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.transport.mmioRead(R.MMIO_CONFIG + offset, out);
    return out;
  }

  /** §3.1.1 steps 1-6 as virtio_mmio.c does them; returns the negotiated features (0n if FEATURES_OK did not stick). */
  init(wanted: bigint, expectDevice?: number): bigint {
    if (this.read32(R.MMIO_MAGIC_VALUE) !== R.MMIO_MAGIC) throw new Error('bad magic');
    if (this.read32(R.MMIO_VERSION) !== 2) throw new Error('not version 2');
    const id = this.read32(R.MMIO_DEVICE_ID);
    if (expectDevice !== undefined && id !== expectDevice) throw new Error(`device id ${id}`);
    this.write32(R.MMIO_STATUS, 0);
    this.write32(R.MMIO_STATUS, STATUS_ACKNOWLEDGE);
    this.write32(R.MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    const offered = this.deviceFeatures();
    this.features = offered & wanted;
    this.writeFeatures(this.features);
    this.write32(R.MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(this.read32(R.MMIO_STATUS) & STATUS_FEATURES_OK)) return 0n;
    return this.features;
  }

  deviceFeatures(): bigint {
    this.write32(R.MMIO_DEVICE_FEATURES_SEL, 1);
    const hi = this.read32(R.MMIO_DEVICE_FEATURES);
    this.write32(R.MMIO_DEVICE_FEATURES_SEL, 0);
    const lo = this.read32(R.MMIO_DEVICE_FEATURES);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  writeFeatures(f: bigint): void {
    this.write32(R.MMIO_DRIVER_FEATURES_SEL, 1);
    this.write32(R.MMIO_DRIVER_FEATURES, Number(f >> 32n));
    this.write32(R.MMIO_DRIVER_FEATURES_SEL, 0);
    this.write32(R.MMIO_DRIVER_FEATURES, Number(f & 0xffffffffn));
  }

  /** virtio_mmio.c vm_setup_vq: select, check not ready, size, ring addresses, ready. */
  setupQueue(index: number, size?: number): DriverQueue {
    this.write32(R.MMIO_QUEUE_SEL, index);
    if (this.read32(R.MMIO_QUEUE_READY) !== 0) throw new Error('queue already ready');
    const max = this.read32(R.MMIO_QUEUE_NUM_MAX);
    if (max === 0) throw new Error('queue does not exist');
    const n = size ?? max;
    const desc = this.alloc.alloc(Q.DESC_SIZE * n, 16);
    const avail = this.alloc.alloc(Q.availSize(n), 2);
    const used = this.alloc.alloc(Q.usedSize(n), 4);
    this.write32(R.MMIO_QUEUE_NUM, n);
    this.write32(R.MMIO_QUEUE_DESC_LOW, desc);
    this.write32(R.MMIO_QUEUE_DESC_HIGH, 0);
    this.write32(R.MMIO_QUEUE_DRIVER_LOW, avail);
    this.write32(R.MMIO_QUEUE_DRIVER_HIGH, 0);
    this.write32(R.MMIO_QUEUE_DEVICE_LOW, used);
    this.write32(R.MMIO_QUEUE_DEVICE_HIGH, 0);
    this.write32(R.MMIO_QUEUE_READY, 1);
    return new DriverQueue(
      this,
      index,
      n,
      desc,
      avail,
      used,
      hasFeature(this.features, VIRTIO_F_RING_EVENT_IDX),
    );
  }

  driverOk(): void {
    this.write32(R.MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
  }

  /** vm_interrupt: read InterruptStatus and acknowledge it. */
  ackInterrupt(): number {
    const s = this.read32(R.MMIO_INTERRUPT_STATUS);
    this.write32(R.MMIO_INTERRUPT_ACK, s);
    return s;
  }

  /** Put `bytes` into fresh guest memory; returns its address. */
  place(bytes: Uint8Array, align = 8): number {
    const a = this.alloc.alloc(Math.max(bytes.length, 1), align);
    this.mem.write(a, bytes);
    return a;
  }

  /** Fresh guest memory of `len` bytes, filled with `fill`. */
  buffer(len: number, fill = 0xaa): number {
    const a = this.alloc.alloc(Math.max(len, 1), 8);
    this.mem.slice(a, len)?.fill(fill);
    return a;
  }
}

export class DriverQueue {
  private readonly free: number[] = [];
  private availIdx = 0;
  private lastUsed = 0;
  /** Per head: the descriptor count to give back (direct chains). */
  private readonly chainLen = new Map<number, number>();

  constructor(
    readonly driver: GuestDriver,
    readonly index: number,
    readonly size: number,
    readonly desc: number,
    readonly avail: number,
    readonly used: number,
    readonly eventIdx: boolean,
  ) {
    for (let i = size - 1; i >= 0; i--) this.free.push(i);
  }

  private get mem(): GuestMemory {
    return this.driver.mem;
  }

  writeDesc(table: number, i: number, s: Segment, next: number | undefined, extraFlags = 0): void {
    const o = table + Q.DESC_SIZE * i;
    this.mem.writeU64(o + Q.DESC_ADDR, BigInt(s.addr));
    this.mem.writeU32(o + Q.DESC_LEN, s.len);
    const flags =
      (s.write ? Q.VIRTQ_DESC_F_WRITE : 0) | (next !== undefined ? Q.VIRTQ_DESC_F_NEXT : 0) | extraFlags;
    this.mem.writeU16(o + Q.DESC_FLAGS, flags);
    this.mem.writeU16(o + Q.DESC_NEXT, next ?? 0);
  }

  /** Lay `segments` out as a chain (direct, or one indirect table) and make it available. Returns the head. */
  add(segments: readonly Segment[], opts: { indirect?: boolean } = {}): number {
    if (opts.indirect) {
      const table = this.driver.alloc.alloc(Q.DESC_SIZE * segments.length, 16);
      segments.forEach((s, i) => this.writeDesc(table, i, s, i + 1 < segments.length ? i + 1 : undefined));
      const head = this.free.pop();
      if (head === undefined) throw new Error('queue full');
      this.writeDesc(
        this.desc,
        head,
        { addr: table, len: Q.DESC_SIZE * segments.length, write: false },
        undefined,
        Q.VIRTQ_DESC_F_INDIRECT,
      );
      this.chainLen.set(head, 1);
      this.publish(head);
      return head;
    }
    if (this.free.length < segments.length) throw new Error('queue full');
    const ids = segments.map(() => this.free.pop()!);
    segments.forEach((s, i) => this.writeDesc(this.desc, ids[i]!, s, ids[i + 1]));
    this.chainLen.set(ids[0]!, segments.length);
    this.publish(ids[0]!);
    return ids[0]!;
  }

  /** Put `head` in the available ring and bump idx (§2.7.13). */
  publish(head: number): void {
    this.mem.writeU16(this.avail + Q.AVAIL_RING + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.mem.writeU16(this.avail + Q.AVAIL_IDX, this.availIdx);
  }

  /** Start both sides' ring positions at `idx` (with SplitQueue.restoreIndices on the device side). */
  restoreIndices(idx: number): void {
    this.availIdx = this.lastUsed = idx & 0xffff;
    this.mem.writeU16(this.avail + Q.AVAIL_IDX, this.availIdx);
  }

  /** Raw access for hostile tests: set avail idx to anything. */
  setAvailIdx(v: number): void {
    this.availIdx = v & 0xffff;
    this.mem.writeU16(this.avail + Q.AVAIL_IDX, this.availIdx);
  }

  /** QueueNotify, as a guest's kick (the vmm's ioeventfd ends in the same notify()). */
  kick(): void {
    this.driver.write32(R.MMIO_QUEUE_NOTIFY, this.index);
  }

  /** Linux's virtqueue_kick_prepare: with event idx, kick only if avail_event lies in (old, new];
   * without, unless the device set VIRTQ_USED_F_NO_NOTIFY. */
  kickNeeded(oldAvailIdx: number): boolean {
    if (this.eventIdx) return Q.needEvent(this.availEvent(), this.availIdx, oldAvailIdx);
    return (this.mem.readU16(this.used + Q.USED_FLAGS) & Q.VIRTQ_USED_F_NO_NOTIFY) === 0;
  }

  kickIfNeeded(oldAvailIdx: number): boolean {
    const need = this.kickNeeded(oldAvailIdx);
    if (need) this.kick();
    return need;
  }

  get availIndex(): number {
    return this.availIdx;
  }

  availEvent(): number {
    return this.mem.readU16(this.used + Q.availEventOffset(this.size));
  }

  setUsedEvent(v: number): void {
    this.mem.writeU16(this.avail + Q.usedEventOffset(this.size), v & 0xffff);
  }

  setAvailFlags(v: number): void {
    this.mem.writeU16(this.avail + Q.AVAIL_FLAGS, v);
  }

  usedIdx(): number {
    return this.mem.readU16(this.used + Q.USED_IDX);
  }

  /** The next used element, if any; frees its descriptors. */
  popUsed(): { id: number; len: number } | undefined {
    if (this.usedIdx() === this.lastUsed) return undefined;
    const o = this.used + Q.USED_RING + Q.USED_ELEM_SIZE * (this.lastUsed % this.size);
    const id = this.mem.readU32(o);
    const len = this.mem.readU32(o + 4);
    this.lastUsed = (this.lastUsed + 1) & 0xffff;
    this.release(id);
    return { id, len };
  }

  get lastUsedIdx(): number {
    return this.lastUsed;
  }

  private release(head: number): void {
    const n = this.chainLen.get(head);
    if (n === undefined) return;
    this.chainLen.delete(head);
    let i = head;
    for (let k = 0; k < n; k++) {
      this.free.push(i);
      i = this.mem.readU16(this.desc + Q.DESC_SIZE * i + Q.DESC_NEXT);
    }
  }

  /** Wait (interrupt-driven, like Linux's vring_interrupt) until `count` used elements arrived. */
  async waitUsed(count = 1, ms = 5000): Promise<{ id: number; len: number }[]> {
    const out: { id: number; len: number }[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      for (let u = this.popUsed(); u; u = this.popUsed()) out.push(u);
      if (out.length >= count) return out;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${count} used buffers (have ${out.length})`);
      // virtqueue_enable_cb: with event idx, ask for an interrupt at the next used buffer.
      if (this.eventIdx) this.setUsedEvent(this.lastUsed);
      const wait = this.driver.irq.next(Math.max(1, deadline - Date.now()));
      // The device may have completed between our check and the wait: re-check before sleeping.
      if (this.usedIdx() !== this.lastUsed) continue;
      if (!(await wait))
        throw new Error(`no interrupt while waiting for ${count} used buffers (have ${out.length})`);
      this.driver.ackInterrupt();
    }
  }
}
