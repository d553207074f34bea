// Fuzz targets only: a fuzz input as a guest's memory around its virtqueues, and the MMIO steps that
// bring a device up over it. Guest RAM is two 4 KiB regions with a hole between them, so "outside
// guest memory" is near at hand. The input's bytes after its header become RAM: the first 4 KiB at
// guest address 0, the next 4 KiB at RAM_B. Queue q's rings sit at fixed places (queueRings), with
// room for 16 entries; buffers and indirect tables anywhere from BUFFERS on.
import type { ArrayGuestMemory } from '@vmm/hypervisor';
import * as R from '../../src/mmio/registers';
import type { MmioTransport } from '../../src/mmio/transport';
import * as Q from '../../src/queue/layout';
import { STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_DRIVER_OK, STATUS_FEATURES_OK } from '../../src/status';

export const RAM_A = { gpa: 0, size: 0x1000 };
export const RAM_B = { gpa: 0x2000, size: 0x1000 };
export const RAM = [RAM_A, RAM_B];
/** The largest queue laid out here (its rings fit the slots of queueRings). */
export const MAX_RING = 16;
/** First byte after the rings of queues 0 and 1. */
export const BUFFERS = 0x400;

/** Where queue `index` (0 or 1) keeps its descriptor table, available ring and used ring. */
export function queueRings(index: number): { desc: number; avail: number; used: number } {
  const base = index * 0x200;
  return { desc: base, avail: base + 0x100, used: base + 0x140 };
}

/** Guest RAM = `image`: its first 4 KiB in RAM_A, the next in RAM_B, zeros after. */
export function loadImage(mem: ArrayGuestMemory, image: Uint8Array): void {
  const a = mem.regions[0]!.bytes;
  const b = mem.regions[1]!.bytes;
  a.fill(0);
  b.fill(0);
  a.set(image.subarray(0, RAM_A.size));
  if (image.length > RAM_A.size) b.set(image.subarray(RAM_A.size, RAM_A.size + RAM_B.size));
}

/**
 * Status 0, then what Linux's virtio_mmio.c does (§3.1.1, §4.2.3.2): acknowledge, offer `features`,
 * set up each queue of `sizes` at queueRings(i), DRIVER_OK. Returns false when the device refused
 * the features.
 */
export function bringUp(t: MmioTransport, features: bigint, sizes: readonly number[]): boolean {
  const word = new Uint8Array(4);
  const w32 = (offset: number, v: number): void => {
    new DataView(word.buffer).setUint32(0, v >>> 0, true);
    t.mmioWrite(offset, word);
  };
  w32(R.MMIO_STATUS, 0);
  w32(R.MMIO_STATUS, STATUS_ACKNOWLEDGE);
  w32(R.MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
  w32(R.MMIO_DRIVER_FEATURES_SEL, 1);
  w32(R.MMIO_DRIVER_FEATURES, Number(features >> 32n));
  w32(R.MMIO_DRIVER_FEATURES_SEL, 0);
  w32(R.MMIO_DRIVER_FEATURES, Number(features & 0xffffffffn));
  w32(R.MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
  if (!(t.deviceStatus & STATUS_FEATURES_OK)) return false;
  sizes.forEach((size, i) => {
    const r = queueRings(i);
    w32(R.MMIO_QUEUE_SEL, i);
    w32(R.MMIO_QUEUE_NUM, size);
    w32(R.MMIO_QUEUE_DESC_LOW, r.desc);
    w32(R.MMIO_QUEUE_DRIVER_LOW, r.avail);
    w32(R.MMIO_QUEUE_DEVICE_LOW, r.used);
    w32(R.MMIO_QUEUE_READY, 1);
  });
  w32(R.MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
  return true;
}

/** Builds seed images the way a driver fills its rings (virtio 1.2 §2.7.13), for `seeds()`. */
export class ImageWriter {
  readonly bytes = new Uint8Array(RAM_A.size + RAM_B.size);
  private readonly view = new DataView(this.bytes.buffer);
  private next = BUFFERS;
  private readonly availIdx: number[];

  /** Queues of `sizes` entries whose rings start at index `start` (the device's next avail idx). */
  constructor(
    readonly sizes: readonly number[],
    start = 0,
  ) {
    this.availIdx = sizes.map(() => start & 0xffff);
    sizes.forEach((_, q) => this.setAvailIdx(q, start));
  }

  /** The image offset of guest address `gpa`. */
  private at(gpa: number): number {
    return gpa >= RAM_B.gpa ? gpa - RAM_B.gpa + RAM_A.size : gpa;
  }

  /** A buffer of `len` bytes (holding `data`, if given) in RAM_A; its guest address. */
  buffer(len: number, data?: Uint8Array): number {
    const gpa = this.next;
    this.next = Math.ceil((gpa + len) / 16) * 16;
    if (data) this.bytes.set(data, this.at(gpa));
    return gpa;
  }

  /** Put `data` at guest address `gpa`. */
  put(gpa: number, data: Uint8Array): void {
    this.bytes.set(data, this.at(gpa));
  }

  /** Descriptor `i` of the table at `table`. */
  desc(table: number, i: number, addr: number, len: number, flags: number, next = 0): void {
    const o = this.at(table) + Q.DESC_SIZE * i;
    this.view.setUint32(o + Q.DESC_ADDR, addr % 2 ** 32, true);
    this.view.setUint32(o + Q.DESC_ADDR + 4, Math.floor(addr / 2 ** 32), true);
    this.view.setUint32(o + Q.DESC_LEN, len, true);
    this.view.setUint16(o + Q.DESC_FLAGS, flags, true);
    this.view.setUint16(o + Q.DESC_NEXT, next, true);
  }

  /**
   * A chain of `segments` in queue `q`'s table from descriptor `first` on (direct), made available.
   * With `indirect`, the segments go to a table in a buffer and descriptor `first` points to it.
   */
  chain(
    q: number,
    first: number,
    segments: { addr: number; len: number; write: boolean }[],
    indirect = false,
  ): void {
    const table = queueRings(q).desc;
    if (indirect) {
      const t = this.buffer(Q.DESC_SIZE * segments.length);
      segments.forEach((s, i) => {
        const more = i + 1 < segments.length;
        this.desc(
          t,
          i,
          s.addr,
          s.len,
          (s.write ? Q.VIRTQ_DESC_F_WRITE : 0) | (more ? Q.VIRTQ_DESC_F_NEXT : 0),
          more ? i + 1 : 0,
        );
      });
      this.desc(table, first, t, Q.DESC_SIZE * segments.length, Q.VIRTQ_DESC_F_INDIRECT);
    } else {
      segments.forEach((s, i) => {
        const more = i + 1 < segments.length;
        const flags = (s.write ? Q.VIRTQ_DESC_F_WRITE : 0) | (more ? Q.VIRTQ_DESC_F_NEXT : 0);
        this.desc(table, first + i, s.addr, s.len, flags, more ? first + i + 1 : 0);
      });
    }
    this.publish(q, first);
  }

  /** Head `head` into queue `q`'s available ring; avail idx moves on (§2.7.13.3). */
  publish(q: number, head: number): void {
    const avail = this.at(queueRings(q).avail);
    const idx = this.availIdx[q]!;
    this.view.setUint16(avail + Q.AVAIL_RING + 2 * (idx % this.sizes[q]!), head, true);
    this.availIdx[q] = (idx + 1) & 0xffff;
    this.view.setUint16(avail + Q.AVAIL_IDX, this.availIdx[q]!, true);
  }

  /** Queue `q`'s avail idx (e.g. ahead of its ring, or for a ring that wraps around). */
  setAvailIdx(q: number, idx: number): void {
    this.availIdx[q] = idx & 0xffff;
    this.view.setUint16(this.at(queueRings(q).avail) + Q.AVAIL_IDX, idx & 0xffff, true);
  }

  /** The image, less its trailing zeros, behind `header`. */
  input(header: number[]): Uint8Array {
    let end = this.bytes.length;
    while (end > 0 && this.bytes[end - 1] === 0) end--;
    const out = new Uint8Array(header.length + end);
    out.set(header);
    out.set(this.bytes.subarray(0, end), header.length);
    return out;
  }
}
