// The fuzzer itself, on a fixture parser with planted bugs (fixtures/planted.ts): coverage guidance
// reaches a bug behind five nested comparisons, the crash is shrunk to the bytes that matter, an
// endless loop ends as a hang instead of hanging the run, a seed repeats a run exactly, and corpus
// minimisation keeps every feature with fewer inputs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { minimiseCorpus } from './corpus';
import { crashKind, hex, shrinkCrash } from './crash';
import { FuzzSession } from './engine';
import type { TargetInfo } from './targets';

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-fuzz-engine-'));
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

function fixture(name: 'crash' | 'hang'): TargetInfo {
  const dir = path.join(import.meta.dirname, 'fixtures');
  return {
    id: `fixture/${name}`,
    file: path.join(dir, `${name}.fuzz-target.ts`),
    corpusDir: path.join(out, 'none'),
    outDir: out,
    sourceDir: dir,
  };
}

const SEED = 7;

describe('the fuzzing engine', () => {
  it('finds a bug behind nested comparisons and shrinks the input to the bytes that matter', async () => {
    const session = await FuzzSession.open(fixture('crash'));
    expect(await session.replay(session.startingInputs(false))).toBeUndefined();
    const r = await session.fuzz({ seed: SEED, runs: 2_000_000 });
    console.log(`planted crash: ${r.stats.execs} execs, ${r.stats.features} features, seed ${SEED}`);
    expect(r.crash, `no crash after ${r.stats.execs} runs (seed ${SEED})`).toBeDefined();
    expect(crashKind(r.crash!.error)).toMatch(/^TypeError/);
    const small = shrinkCrash(session, r.crash!);
    // The magic and the one record that triggers it, its last byte zeroed: 7f 52 45 43 42 04 de ad be 00.
    expect(hex(small)).toBe('7f5245434204deadbe00');
  });

  it('ends an endless loop as a hang, with the input that loops', async () => {
    const session = await FuzzSession.open(fixture('hang'), 2);
    await session.replay(session.startingInputs(false));
    const r = await session.fuzz({ seed: SEED, runs: 2_000_000 });
    expect(r.crash?.hang).toBe(true);
    expect(hex(r.crash!.input)).toContain('deadbe');
  });

  it('repeats a run exactly from its seed', async () => {
    const run = async (): Promise<string[]> => {
      const session = await FuzzSession.open(fixture('crash'));
      await session.replay(session.startingInputs(false));
      await session.fuzz({ seed: 12345, runs: 20_000 });
      return session.corpus.map(hex);
    };
    const a = await run();
    expect(a.length).toBeGreaterThan(3);
    expect(await run()).toEqual(a);
  });

  it('minimises a corpus to fewer inputs with the same features', async () => {
    const session = await FuzzSession.open(fixture('crash'));
    await session.replay(session.startingInputs(false));
    await session.fuzz({ seed: 99, runs: 20_000 });
    const features = (inputs: Uint8Array[]): Set<number> => {
      const all = new Set<number>();
      for (const d of inputs) for (const f of session.featuresOf(d) as number[]) all.add(f);
      return all;
    };
    const kept = minimiseCorpus(session, session.corpus, { maxEntries: 1000, maxBytes: 4096 });
    expect(kept.length).toBeLessThan(session.corpus.length);
    expect(features(kept)).toEqual(features(session.corpus));
  });
});
