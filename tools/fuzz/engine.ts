// The fuzzing loop. Inputs run one at a time through the instrumented target; after each, the
// counters are read and zeroed, and an input that shows a feature not seen before joins the
// in-memory corpus, from which the next inputs are mutated. The first input that makes the target
// throw ends the run as a crash, and one still running after `hangSeconds` as a hang (guard.ts).
// Given the same seed, corpus and target, the inputs tried are the same, in the same order; a time
// limit only decides how many of them run.
import { readCorpus } from './corpus';
import { runGuarded } from './guard';
import { loadTarget, type FuzzTargetModule, type LoadedTarget } from './load';
import { Mutator } from './mutate';
import { Rng } from './rng';
import type { TargetInfo } from './targets';

const DEFAULT_MAX_LENGTH = 4096;
/** Inputs run between looks at the clock. */
const BATCH = 64;
/** A guarded slice of the loop lasts this long; then the event loop runs (the target's timers). */
const SLICE_MS = 100;

export interface Crash {
  input: Uint8Array;
  error: unknown;
  /** The input did not finish: it ran past the hang limit. */
  hang: boolean;
}

export interface FuzzOptions {
  seed: number;
  /** Stop after this long (seconds)... */
  seconds?: number;
  /** ...or after this many inputs, whichever comes first. */
  runs?: number;
  /** Each input kept for new coverage, as it is kept. */
  onNew?: (input: Uint8Array) => void;
  /** Every `progressSeconds` (default 10). */
  onProgress?: (stats: FuzzStats) => void;
  progressSeconds?: number;
  /** Polled between slices: true ends the run early. */
  stop?: () => boolean;
}

export interface FuzzStats {
  execs: number;
  seconds: number;
  features: number;
  corpus: number;
  /** Inputs this run added to the corpus. */
  added: number;
}

export interface FuzzResult {
  stats: FuzzStats;
  crash?: Crash;
}

export class FuzzSession {
  /** Inputs that each brought new features, in the order found. */
  readonly corpus: Uint8Array[] = [];
  /** The input running now, or the last one run. */
  current: Uint8Array = new Uint8Array(0);
  private lastError: unknown;

  private constructor(
    readonly info: TargetInfo,
    readonly loaded: LoadedTarget,
    /** An input running longer than this is a hang. */
    readonly hangSeconds: number,
  ) {}

  static async open(info: TargetInfo, hangSeconds = 10): Promise<FuzzSession> {
    return new FuzzSession(info, await loadTarget(info), hangSeconds);
  }

  get target(): FuzzTargetModule {
    return this.loaded.module;
  }

  get maxLength(): number {
    return this.target.maxLength ?? DEFAULT_MAX_LENGTH;
  }

  get features(): number {
    return this.loaded.counters.features;
  }

  /** The target's seeds, then its checked-in corpus, then (if asked) what earlier long runs found. */
  startingInputs(withFound: boolean): Uint8Array[] {
    const seeds = this.target.seeds?.() ?? [];
    const found = withFound ? readCorpus(`${this.info.outDir}/corpus`) : [];
    return [new Uint8Array(0), ...seeds, ...readCorpus(this.info.corpusDir), ...found].map((d) =>
      d.length > this.maxLength ? d.subarray(0, this.maxLength) : d,
    );
  }

  /** Run one input: the number of new features it showed, or -1 when the target threw. */
  private exec(input: Uint8Array): number {
    this.current = input;
    try {
      this.target.fuzz(input);
    } catch (e) {
      this.lastError = e;
      this.loaded.counters.clear();
      return -1;
    }
    return this.loaded.counters.collectNew();
  }

  /** The error `input` makes the target throw, or undefined. Counts no features. */
  probe(input: Uint8Array): unknown {
    this.current = input;
    try {
      this.target.fuzz(input);
      return undefined;
    } catch (e) {
      return e;
    } finally {
      this.loaded.counters.clear();
    }
  }

  /** The features of one input (counter * 8 + bucket), or the error it threw. */
  featuresOf(input: Uint8Array): number[] | { error: unknown } {
    this.current = input;
    try {
      this.target.fuzz(input);
    } catch (e) {
      this.loaded.counters.clear();
      return { error: e };
    }
    const out: number[] = [];
    this.loaded.counters.collectAll(out);
    return out;
  }

  /** Run `inputs` in order, keeping those with new features; the first crash or hang ends it. */
  async replay(inputs: readonly Uint8Array[]): Promise<Crash | undefined> {
    let i = 0;
    let crash: Crash | undefined;
    const slice = (): void => {
      const end = Date.now() + SLICE_MS;
      while (i < inputs.length && Date.now() < end) {
        const data = inputs[i++]!;
        const fresh = this.exec(data);
        if (fresh < 0) {
          crash = { input: data.slice(), error: this.lastError, hang: false };
          return;
        }
        if (fresh > 0 || this.corpus.length === 0) this.corpus.push(data.slice());
      }
    };
    while (i < inputs.length && !crash) {
      if (!runGuarded(slice, this.hangSeconds * 1000)) return this.hang();
      await this.turn();
    }
    return crash;
  }

  /** Mutate corpus inputs until the time or run limit, a stop request, a crash or a hang. */
  async fuzz(o: FuzzOptions): Promise<FuzzResult> {
    const rng = new Rng(o.seed);
    const mutator = new Mutator(rng, this.loaded.dictionary, this.maxLength);
    if (this.corpus.length === 0) this.corpus.push(new Uint8Array(0));
    const start = Date.now();
    const deadline = o.seconds === undefined ? Infinity : start + o.seconds * 1000;
    const maxRuns = o.runs ?? Infinity;
    const progressMs = (o.progressSeconds ?? 10) * 1000;
    let nextProgress = start + progressMs;
    let runs = 0;
    let added = 0;
    let crash: Crash | undefined;
    const stats = (): FuzzStats => ({
      execs: runs,
      seconds: (Date.now() - start) / 1000,
      features: this.features,
      corpus: this.corpus.length,
      added,
    });
    const slice = (): void => {
      const end = Math.min(Date.now() + SLICE_MS, deadline);
      for (;;) {
        for (let k = 0; k < BATCH; k++) {
          if (runs >= maxRuns) return;
          const input = mutator.mutate(this.corpus[rng.below(this.corpus.length)]!, this.corpus);
          runs++;
          const fresh = this.exec(input);
          if (fresh < 0) {
            crash = { input: input.slice(), error: this.lastError, hang: false };
            return;
          }
          if (fresh > 0) {
            const kept = input.slice();
            this.corpus.push(kept);
            added++;
            o.onNew?.(kept);
          }
        }
        if (Date.now() >= end) return;
      }
    };
    for (;;) {
      if (!runGuarded(slice, this.hangSeconds * 1000)) return { stats: stats(), crash: this.hang() };
      if (crash) return { stats: stats(), crash };
      const now = Date.now();
      if (runs >= maxRuns || now >= deadline || o.stop?.()) return { stats: stats() };
      if (now >= nextProgress) {
        o.onProgress?.(stats());
        nextProgress = now + progressMs;
      }
      await this.turn();
    }
  }

  async close(): Promise<void> {
    await this.target.close?.();
  }

  private hang(): Crash {
    const error = new Error(`hang: one input ran for more than ${this.hangSeconds} s`);
    return { input: this.current.slice(), error, hang: true };
  }

  /** One turn of the event loop: the target's timers and I/O callbacks run here, not in an input. */
  private async turn(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.loaded.counters.clear();
  }
}
