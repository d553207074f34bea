// One descriptor chain as the device sees it: a list of bounds-checked segments of guest RAM,
// readable ones first, then writable ones (§2.7.4.2). One object is made per queue (or per
// in-flight request) and refilled by SplitQueue.pop: nothing is allocated per descriptor.
// The chain reaches guest RAM only through the views of the queue that filled it, bound by each
// pop: a chain object kept across a reset or a reboot can never touch the RAM of an earlier boot
// (whose mapping may be gone, or hold something else), and `unbind()` lets go of it at once.
import type { RegionViews } from '../memory/region-views';

export class DescriptorChain {
  /** Head descriptor index: what goes back in the used ring. */
  head = 0;
  /** Number of segments (zero-length descriptors are dropped). */
  length = 0;
  /** Index of the first writable segment (== length when there is none). */
  firstWritable = 0;
  readableBytes = 0;
  writableBytes = 0;
  readonly region: Int32Array;
  readonly offset: Float64Array;
  readonly len: Uint32Array;
  /** The guest RAM of the queue that filled this chain; undefined once unbound. */
  private views: RegionViews | undefined;

  constructor(readonly capacity: number) {
    this.region = new Int32Array(capacity);
    this.offset = new Float64Array(capacity);
    this.len = new Uint32Array(capacity);
  }

  /** Start refilling for head `head` over `views` (SplitQueue.pop). */
  reset(head: number, views: RegionViews): void {
    this.views = views;
    this.head = head;
    this.length = 0;
    this.firstWritable = 0;
    this.readableBytes = 0;
    this.writableBytes = 0;
  }

  /** Forget the segments and the RAM they were in: every copy moves 0 bytes until the next pop. */
  unbind(): void {
    this.views = undefined;
    this.length = this.firstWritable = this.readableBytes = this.writableBytes = 0;
  }

  /** Append a segment already checked against guest memory. Returns false when full. */
  push(region: number, offset: number, len: number, writable: boolean): boolean {
    if (this.length >= this.capacity) return false;
    const i = this.length++;
    this.region[i] = region;
    this.offset[i] = offset;
    this.len[i] = len;
    if (writable) this.writableBytes += len;
    else {
      this.readableBytes += len;
      this.firstWritable = this.length;
    }
    return true;
  }

  /** Copy `n` readable bytes starting `skip` bytes into the readable part into `dst[dstOff..]`. Returns bytes copied. */
  read(skip: number, dst: Uint8Array, dstOff: number, n: number): number {
    return this.copy(0, this.firstWritable, skip, dst, dstOff, n, false);
  }

  /** Copy `n` bytes of `src[srcOff..]` into the writable part, starting `skip` bytes in. Returns bytes copied. */
  write(skip: number, src: Uint8Array, srcOff: number, n: number): number {
    return this.copy(this.firstWritable, this.length, skip, src, srcOff, n, true);
  }

  /** Push views (no copy) of readable bytes [skip, skip+n) onto `out`; returns bytes covered. */
  readableViews(skip: number, n: number, out: Uint8Array[]): number {
    return this.views_(0, this.firstWritable, skip, n, out);
  }

  /** Push views (no copy) of writable bytes [skip, skip+n) onto `out`; returns bytes covered. */
  writableViews(skip: number, n: number, out: Uint8Array[]): number {
    return this.views_(this.firstWritable, this.length, skip, n, out);
  }

  private views_(from: number, to: number, skip: number, n: number, out: Uint8Array[]): number {
    const views = this.views;
    if (!views) return 0;
    let done = 0;
    for (let i = from; i < to && done < n; i++) {
      const l = this.len[i]!;
      if (skip >= l) {
        skip -= l;
        continue;
      }
      const k = Math.min(l - skip, n - done);
      const o = this.offset[i]! + skip;
      out.push(views.bytesOf(this.region[i]!).subarray(o, o + k));
      done += k;
      skip = 0;
    }
    return done;
  }

  private copy(
    from: number,
    to: number,
    skip: number,
    buf: Uint8Array,
    bufOff: number,
    n: number,
    toGuest: boolean,
  ): number {
    const views = this.views;
    if (!views) return 0;
    let done = 0;
    for (let i = from; i < to && done < n; i++) {
      const l = this.len[i]!;
      if (skip >= l) {
        skip -= l;
        continue;
      }
      const k = Math.min(l - skip, n - done);
      const mem = views.bytesOf(this.region[i]!);
      const o = this.offset[i]! + skip;
      if (k <= 32) {
        // Small copies (headers, status bytes) without making a view.
        if (toGuest) for (let j = 0; j < k; j++) mem[o + j] = buf[bufOff + done + j]!;
        else for (let j = 0; j < k; j++) buf[bufOff + done + j] = mem[o + j]!;
      } else if (toGuest) {
        mem.set(buf.subarray(bufOff + done, bufOff + done + k), o);
      } else {
        buf.set(mem.subarray(o, o + k), bufOff + done);
      }
      done += k;
      skip = 0;
    }
    return done;
  }
}
