// Mutations: turn a corpus input into a new one. A few stacked edits from libFuzzer's and AFL's
// usual set: bit flips, random and "interesting" values (boundaries of 8/16/32-bit fields, either
// byte order), small arithmetic on bytes and words, inserts and erases, copies within the input,
// dictionary tokens (dictionary.ts), and crossover with another corpus input. Works in one reused
// buffer; the engine copies an input only when it keeps it.
import type { Rng } from './rng';

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 16, 32, 64, 100, 0xfe];
const INTERESTING_16 = [0, 1, 0x7fff, 0x8000, 0xffff, 0xfffe, 256, 512, 1000, 1024, 4096, 0x0100];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x10000, 0x100000, 65535];

export class Mutator {
  private buf: Uint8Array;
  private len = 0;

  constructor(
    private readonly rng: Rng,
    private readonly dictionary: readonly Uint8Array[],
    readonly maxLength: number,
  ) {
    this.buf = new Uint8Array(maxLength + 64);
  }

  /** A mutant of `input` (valid until the next call), perhaps crossed with one of `corpus`. */
  mutate(input: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array {
    const r = this.rng;
    this.len = Math.min(input.length, this.maxLength);
    this.buf.set(input.subarray(0, this.len));
    const edits = 1 + (r.oneIn(8) ? r.below(16) : r.below(3));
    for (let k = 0; k < edits; k++) this.edit(corpus);
    if (this.len === 0) this.insert(0, 1 + r.below(8), () => r.u32() & 0xff);
    return this.buf.subarray(0, this.len);
  }

  private edit(corpus: readonly Uint8Array[]): void {
    const r = this.rng;
    const b = this.buf;
    const n = this.len;
    switch (r.below(15)) {
      case 0:
        if (n) b[r.below(n)]! ^= 1 << r.below(8);
        return;
      case 1:
        if (n) b[r.below(n)] = r.u32() & 0xff;
        return;
      case 2:
        if (n) b[r.below(n)]! += r.below(35) - 17;
        return;
      case 3: {
        // 16- or 32-bit add, either byte order
        const w = r.oneIn(2) ? 2 : 4;
        if (n < w) return;
        const at = r.below(n - w + 1);
        const be = r.oneIn(2);
        this.putWord(at, w, this.getWord(at, w, be) + r.below(35) - 17, be);
        return;
      }
      case 4: {
        const w = [1, 2, 4][r.below(3)]!;
        if (n < w) return;
        const list = w === 1 ? INTERESTING_8 : w === 2 ? INTERESTING_16 : INTERESTING_32;
        this.putWord(r.below(n - w + 1), w, list[r.below(list.length)]!, r.oneIn(2));
        return;
      }
      case 5: {
        const k = 1 + r.below(8);
        this.insert(r.below(n + 1), k, () => r.u32() & 0xff);
        return;
      }
      case 6: {
        // a run of one byte (zeros, padding, length-like fields)
        const v = r.oneIn(2) ? 0 : r.u32() & 0xff;
        this.insert(r.below(n + 1), 1 + r.below(r.oneIn(4) ? 128 : 16), () => v);
        return;
      }
      case 7: {
        if (n <= 1) return;
        const at = r.below(n);
        const k = 1 + r.below(Math.min(n - at, r.oneIn(4) ? 256 : 16));
        b.copyWithin(at, at + k, n);
        this.len = n - k;
        return;
      }
      case 8: {
        // copy a chunk over another place in the input
        if (n < 2) return;
        const from = r.below(n);
        const k = 1 + r.below(Math.min(n - from, 64));
        const to = r.below(n - k + 1);
        b.copyWithin(to, from, from + k);
        return;
      }
      case 9: {
        // insert a copy of a chunk
        if (n < 2) return;
        const from = r.below(n);
        const k = 1 + r.below(Math.min(n - from, 64));
        const chunk = b.slice(from, from + k);
        let i = 0;
        this.insert(r.below(n + 1), k, () => chunk[i++]!);
        return;
      }
      case 10:
      case 11: {
        const d = this.dictionary;
        if (d.length === 0) return;
        const t = d[r.below(d.length)]!;
        if (r.oneIn(2) && n >= t.length) b.set(t, r.below(n - t.length + 1));
        else {
          let i = 0;
          this.insert(r.below(n + 1), t.length, () => t[i++]!);
        }
        return;
      }
      case 12: {
        // crossover: our head, another input's tail
        if (corpus.length === 0) return;
        const o = corpus[r.below(corpus.length)]!;
        const cut = r.below(n + 1);
        const from = r.below(o.length + 1);
        const k = Math.min(o.length - from, this.maxLength - cut);
        b.set(o.subarray(from, from + k), cut);
        this.len = cut + k;
        return;
      }
      case 13: {
        // overwrite a chunk with one from another input
        if (corpus.length === 0 || n === 0) return;
        const o = corpus[r.below(corpus.length)]!;
        if (o.length === 0) return;
        const from = r.below(o.length);
        const k = Math.min(1 + r.below(64), o.length - from, n);
        b.set(o.subarray(from, from + k), r.below(n - k + 1));
        return;
      }
      default:
        if (n > 1) this.len = r.below(n);
    }
  }

  /** Insert `k` bytes from `next()` at `at`, as far as the length limit allows. */
  private insert(at: number, k: number, next: () => number): void {
    const n = this.len;
    k = Math.min(k, this.maxLength - n);
    if (k <= 0) return;
    this.buf.copyWithin(at + k, at, n);
    for (let i = 0; i < k; i++) this.buf[at + i] = next();
    this.len = n + k;
  }

  private getWord(at: number, w: number, be: boolean): number {
    let v = 0;
    for (let i = 0; i < w; i++) v += this.buf[at + (be ? w - 1 - i : i)]! * 2 ** (8 * i);
    return v;
  }

  private putWord(at: number, w: number, v: number, be: boolean): void {
    let x = ((v % 2 ** (8 * w)) + 2 ** (8 * w)) % 2 ** (8 * w);
    for (let i = 0; i < w; i++) {
      this.buf[at + (be ? w - 1 - i : i)] = x & 0xff;
      x = Math.floor(x / 256);
    }
  }
}
