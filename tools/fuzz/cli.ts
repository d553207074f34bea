// `pnpm fuzz`: coverage-guided fuzzing of the parsers of guest and network data (docs/testing.md).
//   pnpm fuzz [TARGET...] [--seconds N] [--runs N] [--seed S] [--hang S]
//       fuzz each target (default: all, 60 s each); new corpus entries and crash-* files go to
//       .cache/fuzz/targets/<id>/ (gitignored); an input running longer than --hang seconds
//       (default 10) is a crash too
//   pnpm fuzz --merge [TARGET...]   shrink seeds + checked-in + found inputs into the checked-in corpus
//   pnpm fuzz --repro FILE TARGET   run one input through the target as written (real stack trace)
//   pnpm fuzz --coverage [TARGET...] what the seeds and corpora reach: per file, and the lines not reached
//   pnpm fuzz --list
// The seed is printed; FUZZ_SEED or --seed repeats a run.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { minimiseCorpus, readPinned, saveInput, writeCorpus } from './corpus';
import { crashReport, hex, shrinkCrash } from './crash';
import { FuzzSession, type Crash } from './engine';
import { runGuarded } from './guard';
import type { FuzzTargetModule } from './load';
import { freshSeed, seedFromEnv } from './rng';
import { ROOT, findTargets, selectTargets, type TargetInfo } from './targets';

/** The checked-in corpus stays small: this many inputs of at most this many bytes per target. */
export const CORPUS_MAX_ENTRIES = 40;
export const CORPUS_MAX_BYTES = 4096;

interface Args {
  targets: string[];
  seconds: number;
  runs: number | undefined;
  seed: number;
  hang: number;
  mode: 'fuzz' | 'merge' | 'repro' | 'coverage' | 'list';
  file?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { targets: [], seconds: 60, runs: undefined, seed: 0, hang: 10, mode: 'fuzz' };
  let seed: number | undefined;
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0)
      throw new Error(`${flag} needs a number, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--seconds') a.seconds = num(arg, argv[++i]);
    else if (arg === '--runs') a.runs = num(arg, argv[++i]);
    else if (arg === '--seed') seed = num(arg, argv[++i]) >>> 0;
    else if (arg === '--hang') a.hang = num(arg, argv[++i]);
    else if (arg === '--merge') a.mode = 'merge';
    else if (arg === '--list') a.mode = 'list';
    else if (arg === '--coverage') a.mode = 'coverage';
    else if (arg === '--repro') {
      a.mode = 'repro';
      a.file = argv[++i];
    } else if (arg.startsWith('--'))
      throw new Error(`unknown option ${arg}: see the head of tools/fuzz/cli.ts`);
    else a.targets.push(arg);
  }
  a.seed = seed ?? seedFromEnv(freshSeed());
  return a;
}

function rel(file: string): string {
  return path.relative(ROOT, file);
}

/** One long run of one target; false when it crashed or hung. */
async function fuzzOne(info: TargetInfo, a: Args): Promise<boolean> {
  const say = (line: string): void => console.log(`${info.id}: ${line}`);
  const session = await FuzzSession.open(info, a.hang);
  // Thrown from a timer or callback of the target, outside any input: the last input is the suspect.
  const outside = (e: unknown): void => {
    const file = saveInput(info.outDir, session.current, 'crash-');
    say(
      `CRASH outside an input (the last input, ${hex(session.current)}, saved to ${rel(file)}): ${String(e)}`,
    );
    process.exit(1);
  };
  process.on('uncaughtException', outside);
  try {
    const report = (crash: Crash): false => {
      const input = shrinkCrash(session, crash);
      const file = saveInput(info.outDir, input, crash.hang ? 'timeout-' : 'crash-');
      console.log(crashReport(info.id, crash, input, file, a.seed));
      return false;
    };
    const replayed = await session.replay(session.startingInputs(true));
    if (replayed) return report(replayed);
    say(
      `${session.corpus.length} corpus inputs: ${session.features} features over ${session.loaded.counters.size} counters`,
    );
    const corpusDir = path.join(info.outDir, 'corpus');
    const result = await session.fuzz({
      seed: a.seed,
      seconds: a.runs === undefined ? a.seconds : undefined,
      runs: a.runs,
      onNew: (d) => saveInput(corpusDir, d),
      onProgress: (s) =>
        say(
          `${s.execs} execs, ${Math.round(s.execs / s.seconds)}/s, ${s.features} features, corpus ${s.corpus}`,
        ),
    });
    if (result.crash) return report(result.crash);
    const s = result.stats;
    const reached = session.loaded.counters.reached();
    const hit = reached.reduce((n, r) => n + r.hit, 0);
    const total = reached.reduce((n, r) => n + r.total, 0);
    say(
      `${s.execs} execs in ${s.seconds.toFixed(1)} s (${Math.round(s.execs / s.seconds)}/s), ${s.features} features, ` +
        `${hit}/${total} counters reached, corpus ${s.corpus} (+${s.added} in ${rel(corpusDir)})`,
    );
    return true;
  } finally {
    process.off('uncaughtException', outside);
    await session.close();
  }
}

async function merge(info: TargetInfo): Promise<void> {
  const session = await FuzzSession.open(info);
  try {
    const kept = minimiseCorpus(session, session.startingInputs(true), {
      maxEntries: CORPUS_MAX_ENTRIES,
      maxBytes: CORPUS_MAX_BYTES,
      pinned: readPinned(info.corpusDir),
    });
    const { added, removed } = writeCorpus(info.corpusDir, kept);
    const bytes = kept.reduce((n, k) => n + k.length, 0);
    console.log(
      `${info.id}: ${rel(info.corpusDir)}: ${kept.length} inputs, ${bytes} bytes (+${added} -${removed})`,
    );
  } finally {
    await session.close();
  }
}

/** Per instrumented file: counters reached by the seeds and corpora, and the source lines never reached. */
async function coverage(info: TargetInfo): Promise<void> {
  const session = await FuzzSession.open(info);
  try {
    const crash = await session.replay(session.startingInputs(true));
    if (crash)
      console.log(`${info.id}: the corpus crashes the target; run pnpm fuzz ${info.id} for the report`);
    const counters = session.loaded.counters;
    console.log(`${info.id}: ${session.corpus.length} inputs, ${session.features} features`);
    for (const r of counters.reached()) {
      const lines = session.loaded.build.files.get(r.file)?.lines ?? [];
      const missed = [...new Set(counters.unreached(r.file).map((i) => lines[i]!))].sort((x, y) => x - y);
      const text = missed.length ? `; not reached: lines ${missed.join(', ')}` : '';
      console.log(`  ${r.file}: ${r.hit}/${r.total}${text}`);
    }
  } finally {
    await session.close();
  }
}

/** The input through the target as written (tsx, no bundle, no counters): the real stack trace. */
async function repro(info: TargetInfo, file: string, hangSeconds: number): Promise<boolean> {
  const mod = (await import(pathToFileURL(info.file).href)) as FuzzTargetModule;
  const data = new Uint8Array(fs.readFileSync(file));
  try {
    if (!runGuarded(() => mod.fuzz(data), hangSeconds * 1000)) {
      console.log(
        `${info.id}: ${rel(file)} (${data.length} bytes) hangs: still running after ${hangSeconds} s`,
      );
      return false;
    }
    console.log(`${info.id}: ${rel(file)} (${data.length} bytes) runs without a crash`);
    return true;
  } catch (e) {
    console.log(`${info.id}: ${rel(file)} (${data.length} bytes) crashes:`);
    console.log(e instanceof Error ? e.stack : String(e));
    return false;
  } finally {
    await mod.close?.();
  }
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  const all = findTargets();
  if (a.mode === 'list') {
    for (const t of all) console.log(`${t.id}\t${rel(t.file)}\t${rel(t.corpusDir)}`);
    return 0;
  }
  const targets = selectTargets(all, a.targets);
  if (a.mode === 'repro') {
    if (!a.file || targets.length !== 1)
      throw new Error('--repro needs a file and one target: pnpm fuzz --repro FILE TARGET');
    return (await repro(targets[0]!, a.file, a.hang)) ? 0 : 1;
  }
  if (a.mode === 'merge' || a.mode === 'coverage') {
    for (const t of targets) await (a.mode === 'merge' ? merge(t) : coverage(t));
    return 0;
  }
  const limit = a.runs !== undefined ? `${a.runs} runs` : `${a.seconds} s`;
  console.log(
    `fuzz: ${targets.length} target(s), ${limit} each, seed ${a.seed} (FUZZ_SEED=${a.seed} repeats it)`,
  );
  let failed = 0;
  for (const t of targets) if (!(await fuzzOne(t, a))) failed++;
  console.log(
    failed ? `fuzz: ${failed} target(s) crashed or hung (seed ${a.seed})` : `fuzz: no crash (seed ${a.seed})`,
  );
  return failed ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    console.error(`fuzz: ${(e as Error).message}`);
    process.exitCode = 2;
  },
);
