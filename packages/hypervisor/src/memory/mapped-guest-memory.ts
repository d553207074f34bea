// GuestMemory over host memory that is already mapped at a known address, every access
// bounds-checked, through views made with koffi.view (no copy). V8 counts a view's bytes as
// external memory, and a new view of a whole guest RAM forces a full GC of the isolate that makes
// it (3-11 ms per VM start on a software-emulated KVM host, ~20 in the nested-KVM VM: lab notes in
// docs/benchmarks.md). So a region is seen through windows of WINDOW_BYTES, each made when first
// touched and kept, until something asks for the whole region (GuestRegion.bytes: a device's
// RegionViews): a boot writes its kernel, tables and page tables through a few windows, and a
// restore touches nothing, with no such GC. An access that crosses a window's end gets a view of
// exactly its own bytes.
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
/** A window's size: small next to V8's external-memory GC trigger (64 MiB), 2 MiB aligned. */
export const WINDOW_BYTES = 2 ** 21;

/** Views of [start, start + size) of a region: bytes, a DataView, u16 and u32 arrays over one buffer. */
class Span {
  readonly u8: Uint8Array;
  private dv: DataView | undefined;
  private w16: Uint16Array | undefined;
  private w32: Uint32Array | undefined;

  constructor(
    /** Offset of the first byte in its region. */
    readonly start: number,
    readonly size: number,
    address: bigint,
  ) {
    this.u8 = size === 0 ? new Uint8Array(0) : new Uint8Array(hostView(address, size));
  }

  get view(): DataView {
    return (this.dv ??= new DataView(this.u8.buffer));
  }

  get u16(): Uint16Array {
    // Math.floor, not >>>: a 4 GiB region would wrap to length 0.
    return (this.w16 ??= new Uint16Array(this.u8.buffer, 0, Math.floor(this.size / 2)));
  }

  get u32(): Uint32Array {
    return (this.w32 ??= new Uint32Array(this.u8.buffer, 0, Math.floor(this.size / 4)));
  }
}

class Region implements GuestRegion {
  /** The whole region, once something asked for it. */
  private whole: Span | undefined;
  /** Windows made so far, by index (offset / WINDOW_BYTES). */
  private readonly windows: (Span | undefined)[] = [];

  constructor(
    readonly gpa: number,
    readonly size: number,
    readonly end: number,
    private readonly hostAddress: bigint,
  ) {}

  get bytes(): Uint8Array {
    return this.all().u8;
  }

  private all(): Span {
    return (this.whole ??= new Span(0, this.size, this.hostAddress));
  }

  /** Views holding [off, off + len) (in bounds): the whole region's, a window, or that range's own. */
  span(off: number, len: number): Span {
    if (this.whole) return this.whole;
    const i = Math.floor(off / WINDOW_BYTES);
    const start = i * WINDOW_BYTES;
    if (off + len <= start + WINDOW_BYTES) {
      return (this.windows[i] ??= new Span(
        start,
        Math.min(WINDOW_BYTES, this.size - start),
        this.hostAddress + BigInt(start),
      ));
    }
    return new Span(off, len, this.hostAddress + BigInt(off));
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
    const v = r.span(off, len);
    return v.u8.subarray(off - v.start, off - v.start + len);
  }

  // Alignment is the region offset's (regions and windows start aligned); a straddling access's
  // own view starts where it does, so its index is 0 and its alignment still the offset's.
  readU8(gpa: number): number {
    const r = this.at(gpa, 1);
    const off = gpa - r.gpa;
    const v = r.span(off, 1);
    return v.u8[off - v.start]!;
  }
  readU16(gpa: number): number {
    const r = this.at(gpa, 2);
    const off = gpa - r.gpa;
    const v = r.span(off, 2);
    const o = off - v.start;
    return off & 1 ? v.view.getUint16(o, true) : v.u16[o >>> 1]!;
  }
  readU32(gpa: number): number {
    const r = this.at(gpa, 4);
    const off = gpa - r.gpa;
    const v = r.span(off, 4);
    const o = off - v.start;
    return off & 3 ? v.view.getUint32(o, true) : v.u32[o >>> 2]!;
  }
  readU64(gpa: number): bigint {
    const r = this.at(gpa, 8);
    const off = gpa - r.gpa;
    const v = r.span(off, 8);
    return v.view.getBigUint64(off - v.start, true);
  }
  writeU8(gpa: number, value: number): void {
    const r = this.at(gpa, 1);
    const off = gpa - r.gpa;
    const v = r.span(off, 1);
    v.u8[off - v.start] = value;
  }
  writeU16(gpa: number, value: number): void {
    const r = this.at(gpa, 2);
    const off = gpa - r.gpa;
    const v = r.span(off, 2);
    const o = off - v.start;
    if (off & 1) v.view.setUint16(o, value, true);
    else v.u16[o >>> 1] = value;
  }
  writeU32(gpa: number, value: number): void {
    const r = this.at(gpa, 4);
    const off = gpa - r.gpa;
    const v = r.span(off, 4);
    const o = off - v.start;
    if (off & 3) v.view.setUint32(o, value, true);
    else v.u32[o >>> 2] = value;
  }
  writeU64(gpa: number, value: bigint): void {
    const r = this.at(gpa, 8);
    const off = gpa - r.gpa;
    const v = r.span(off, 8);
    v.view.setBigUint64(off - v.start, BigInt.asUintN(64, value), true);
  }
  write(gpa: number, data: Uint8Array): void {
    const r = this.at(gpa, data.length);
    const off = gpa - r.gpa;
    const v = r.span(off, data.length);
    v.u8.set(data, off - v.start);
  }
}
