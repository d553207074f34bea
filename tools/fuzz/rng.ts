// The fuzzer's only source of randomness: xoshiro128** (Blackman and Vigna, "Scrambled linear
// pseudorandom number generators", 2021) seeded through splitmix32, so a run is reproducible from
// the one 32-bit seed it prints. Not for anything that needs unpredictability.

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** An integer in [0, n); 0 when n <= 1. The modulo bias is below 2^-20 for the n used here. */
  below(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }

  /** True with probability 1/n. */
  oneIn(n: number): boolean {
    return this.below(n) === 0;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A fresh seed when none was given: from the clock and the process id, printed by every caller. */
export function freshSeed(): number {
  return (Date.now() ^ (process.pid << 16) ^ Math.floor(performance.now() * 1000)) >>> 0;
}

/** FUZZ_SEED (decimal or 0x hex), else `fallback`. Throws on a value that is not a 32-bit integer. */
export function seedFromEnv(fallback: number): number {
  const text = process.env.FUZZ_SEED;
  if (text === undefined || text === '') return fallback >>> 0;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new Error(`FUZZ_SEED=${text} is not an integer in 0..4294967295: give a decimal or 0x number`);
  }
  return n;
}
