// The coverage counters of one loaded target, and the features the engine has seen. Each
// instrumented file takes a slice of one Uint32Array when it loads (instrument.ts). A feature is a
// (counter, hit-count bucket) pair, as in AFL and libFuzzer: reaching a branch arm is one, reaching
// it 4-7 times in one input another, so a loop that runs longer counts as progress.

/** Hit count -> bucket 0..7: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+. */
function bucket(c: number): number {
  return c < 4 ? c - 1 : c < 8 ? 3 : c < 16 ? 4 : c < 32 ? 5 : c < 128 ? 6 : 7;
}

export interface FileSlice {
  file: string;
  offset: number;
  size: number;
}

export class Counters {
  /** Counter space: large enough for any target here (a bundle of ~40 files needs ~15k). */
  private readonly array = new Uint32Array(1 << 20);
  private used = 0;
  readonly slices: FileSlice[] = [];
  /** Per counter, bit b set once bucket b was seen; sized when the target has loaded. */
  private seen = new Uint8Array(0);
  /** Distinct features seen (set bits of `seen`). */
  features = 0;

  /** Called by each instrumented file as it loads (REGISTRY_GLOBAL): its slice of the counters. */
  readonly register = (file: string, size: number): Uint32Array => {
    if (this.used + size > this.array.length)
      throw new Error(`fuzz: more than ${this.array.length} counters`);
    const slice = this.array.subarray(this.used, this.used + size);
    this.slices.push({ file, offset: this.used, size });
    this.used += size;
    return slice;
  };

  /** Every file has loaded: size the feature set, which starts with what module initialisation reached. */
  seal(): void {
    this.seen = new Uint8Array(this.used);
    this.collectNew();
  }

  /** How many counters the target has. */
  get size(): number {
    return this.used;
  }

  /** Zero the counters (after code that was not an input ran: timers, module loading). */
  clear(): void {
    this.array.fill(0, 0, this.used);
  }

  /** Add the last input's features to the seen set and zero the counters; returns how many were new. */
  collectNew(): number {
    const a = this.array;
    const seen = this.seen;
    const n = this.used;
    let fresh = 0;
    for (let i = 0; i < n; i++) {
      const c = a[i]!;
      if (c === 0) continue;
      a[i] = 0;
      const bit = 1 << bucket(c);
      const s = seen[i]!;
      if ((s & bit) === 0) {
        seen[i] = s | bit;
        fresh++;
      }
    }
    this.features += fresh;
    return fresh;
  }

  /** The last input's features (counter * 8 + bucket) into `out`, leaving the seen set alone; zeroes the counters. */
  collectAll(out: number[]): void {
    const a = this.array;
    for (let i = 0; i < this.used; i++) {
      const c = a[i]!;
      if (c === 0) continue;
      a[i] = 0;
      out.push(i * 8 + bucket(c));
    }
  }

  /** Per instrumented file: counters ever reached, of how many. */
  reached(): { file: string; hit: number; total: number }[] {
    return this.slices.map((s) => {
      let hit = 0;
      for (let i = s.offset; i < s.offset + s.size; i++) if (this.seen[i]) hit++;
      return { file: s.file, hit, total: s.size };
    });
  }

  /** The counters of `file` never reached (indices into its slice). */
  unreached(file: string): number[] {
    const s = this.slices.find((x) => x.file === file);
    if (!s) return [];
    const out: number[] = [];
    for (let i = 0; i < s.size; i++) if (!this.seen[s.offset + i]) out.push(i);
    return out;
  }
}
