// The seeds of the random-input tests: FUZZ_SEED replays a run that failed (each test prints the
// seed it used), otherwise the clock; and the xorshift32 stream each seed starts.

/** FUZZ_SEED when given (a 32-bit whole number), else the clock. */
export function fuzzSeed(): number {
  const given = process.env.FUZZ_SEED;
  if (given === undefined || given === '') return Date.now() >>> 0;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new Error(`FUZZ_SEED=${given}: give a 32-bit whole number`);
  return n;
}

/** Marsaglia's xorshift32 from `seed` (0 is taken as 1): 32-bit unsigned numbers. */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}
