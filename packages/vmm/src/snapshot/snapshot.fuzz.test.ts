// Fuzz: the snapshot's own files as a restore reads them, manifest.json (manifest.fuzz-target.ts)
// and devices.json (devices.fuzz-target.ts): each target's seeds and checked-in corpus (with the
// inputs that once broke the parsers, regression-*), then mutants of them for a short while. The
// seed is printed; FUZZ_SEED=<seed> replays a run. (tools/fuzz/targets.test.ts also runs these
// targets coverage-guided; pnpm fuzz vmm/snapshot runs them long.)
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCorpus, replayWithMutants, type ReplayTarget } from '../../../../tools/fuzz/replay';
import * as devices from './devices.fuzz-target';
import * as manifest from './manifest.fuzz-target';

const FUZZ_MS = 1000;
const CORPUS = path.resolve(import.meta.dirname, '../../fuzz/corpus/snapshot');

describe.each([
  ['manifest', manifest as ReplayTarget],
  ['devices', devices as ReplayTarget],
])('snapshot %s fuzz', (name, target) => {
  it(`keeps its contract on the seeds, the checked-in corpus and ${FUZZ_MS} ms of mutants`, () => {
    const checkedIn = readCorpus(path.join(CORPUS, name));
    expect(checkedIn.length).toBeGreaterThan(2);
    const runs = replayWithMutants(`snapshot ${name}`, target, checkedIn, FUZZ_MS);
    expect(runs).toBeGreaterThan(target.seeds().length + checkedIn.length);
  });
});
