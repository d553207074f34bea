// GuestMemory over host memory that is already mapped at a known address: per region one buffer
// made with koffi.view (no copy) and the views over it that an access needs (bytes, a DataView,
// u16 and u32 arrays for aligned accesses), every access bounds-checked. The views are
// made when the region is first touched unless asked for at once: V8 counts a view's bytes as
// external memory, and a new view of a whole guest RAM forces a full GC of the isolate that makes
// it (~3 ms on a host, ~20 in the nested-KVM VM). A restore never touches RAM from the main
// thread on its way to the guest's first instruction; a boot writes the kernel there at once.
//
// An aligned readU16/U32 or writeU16/U32 is one access, through a typed array: the memory is
// shared with vCPUs and other threads, the JS memory model promises that only of an aligned
// typed-array access, and V8's unoptimized DataView code moves a u16 or u32 a byte at a time
// (a guest's ring index read half-old, half-new). Typed arrays are host-endian: little, as guest
// memory is, on every host we run on (x86_64, arm64).
//
// A typed array over external memory can cover at most MAX_VIEW_BYTES (4 GiB in Node 20; koffi
// aborts the process beyond that), so a larger range is split into several GuestRegions. An
// access that straddles such a split is refused like one outside RAM.
import { GuestMemoryError } from '../errors';
import { hostView } from '../sys/libc';
import type { GuestMemory, GuestRegion } from '../types';
import type { CheckedRange } from './layout';

export const MAX_VIEW_BYTES = 2 ** 32;

class Region implements GuestRegion {
  private u8: Uint8Array | undefined;
  private dv: DataView | undefined;
  private w16: Uint16Array | undefined;
  private w32: Uint32Array | undefined;

  constructor(
    readonly gpa: number,
    readonly size: number,
    readonly end: number,
    private readonly hostAddress: bigint,
  ) {}

  get bytes(): Uint8Array {
    return (this.u8 ??= new Uint8Array(this.buffer()));
  }

  get view(): DataView {
    return (this.dv ??= new DataView(this.buffer()));
  }

  get u16(): Uint16Array {
    // Math.floor, not >>>: a 4 GiB region would wrap to length 0.
    return (this.w16 ??= new Uint16Array(this.buffer(), 0, Math.floor(this.size / 2)));
  }

  get u32(): Uint32Array {
    return (this.w32 ??= new Uint32Array(this.buffer(), 0, Math.floor(this.size / 4)));
  }

  private buffer(): ArrayBuffer {
    // Every view shares one buffer: later ones are made over the first one's.
    const made = this.u8 ?? this.dv ?? this.w16 ?? this.w32;
    return (made?.buffer as ArrayBuffer | undefined) ?? hostView(this.hostAddress, this.size);
  }
}

export class MappedGuestMemory implements GuestMemory {
  readonly regions: readonly GuestRegion[];
  readonly totalSize: number;
  private readonly list: Region[];
  /** The last region hit: most accesses come in runs to the same region. */
  private last: Region;

  constructor(
    readonly hostAddress: bigint,
    readonly ranges: readonly CheckedRange[],
    maxViewBytes = MAX_VIEW_BYTES,
    viewsNow = false,
  ) {
    if (maxViewBytes <= 0 || maxViewBytes > MAX_VIEW_BYTES) throw new RangeError('bad maxViewBytes');
    const list: Region[] = [];
    let total = 0;
    for (const r of ranges) {
      total += r.size;
      for (let done = 0; done < r.size; done += maxViewBytes) {
        const size = Math.min(maxViewBytes, r.size - done);
        list.push(
          new Region(r.gpa + done, size, r.gpa + done + size, hostAddress + BigInt(r.hostOffset + done)),
        );
      }
    }
    if (viewsNow) for (const r of list) void r.bytes;
    this.list = list;
    this.regions = list;
    this.totalSize = total;
    this.last = list[0]!;
  }

  /** The region holding [gpa, gpa+len) wholly, or undefined. */
  private find(gpa: number, len: number): Region | undefined {
    if (!(gpa >= 0 && len >= 0) || !Number.isSafeInteger(gpa) || !Number.isSafeInteger(len)) return undefined;
    const end = gpa + len;
    const last = this.last;
    if (gpa >= last.gpa && end <= last.end) return last;
    for (const r of this.list) {
      if (gpa >= r.gpa && end <= r.end) {
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  private at(gpa: number, len: number): Region {
    const r = this.find(gpa, len);
    if (!r) throw new GuestMemoryError(gpa, len);
    return r;
  }

  contains(gpa: number, len: number): boolean {
    return this.find(gpa, len) !== undefined;
  }

  slice(gpa: number, len: number): Uint8Array | undefined {
    const r = this.find(gpa, len);
    if (!r) return undefined;
    const off = gpa - r.gpa;
    return r.bytes.subarray(off, off + len);
  }

  readU8(gpa: number): number {
    const r = this.at(gpa, 1);
    return r.view.getUint8(gpa - r.gpa);
  }
  readU16(gpa: number): number {
    const r = this.at(gpa, 2);
    const off = gpa - r.gpa;
    return off & 1 ? r.view.getUint16(off, true) : r.u16[off >>> 1]!;
  }
  readU32(gpa: number): number {
    const r = this.at(gpa, 4);
    const off = gpa - r.gpa;
    return off & 3 ? r.view.getUint32(off, true) : r.u32[off >>> 2]!;
  }
  readU64(gpa: number): bigint {
    const r = this.at(gpa, 8);
    return r.view.getBigUint64(gpa - r.gpa, true);
  }
  writeU8(gpa: number, value: number): void {
    const r = this.at(gpa, 1);
    r.view.setUint8(gpa - r.gpa, value);
  }
  writeU16(gpa: number, value: number): void {
    const r = this.at(gpa, 2);
    const off = gpa - r.gpa;
    if (off & 1) r.view.setUint16(off, value, true);
    else r.u16[off >>> 1] = value;
  }
  writeU32(gpa: number, value: number): void {
    const r = this.at(gpa, 4);
    const off = gpa - r.gpa;
    if (off & 3) r.view.setUint32(off, value, true);
    else r.u32[off >>> 2] = value;
  }
  writeU64(gpa: number, value: bigint): void {
    const r = this.at(gpa, 8);
    r.view.setBigUint64(gpa - r.gpa, BigInt.asUintN(64, value), true);
  }
  write(gpa: number, data: Uint8Array): void {
    const r = this.at(gpa, data.length);
    r.bytes.set(data, gpa - r.gpa);
  }
}
