// Fuzz: a virtio-mmio transport's saved state as a snapshot restore hands it back
// (restore-state.fuzz-target.ts): the target's seeds (states a driven transport saved) and its
// checked-in corpus (with the inputs that once got past restoreState's checks, regression-*), then
// mutants of them for a short while. The seed is printed; FUZZ_SEED=<seed> replays a run.
// (tools/fuzz/targets.test.ts also runs this target coverage-guided.)
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCorpus, replayWithMutants } from '../../../../tools/fuzz/replay';
import * as target from './restore-state.fuzz-target';

const FUZZ_MS = 1000;
const CORPUS = path.resolve(import.meta.dirname, '../../fuzz/corpus/mmio/restore-state');

describe('virtio-mmio restoreState fuzz', () => {
  it(`keeps its contract on the seeds, the checked-in corpus and ${FUZZ_MS} ms of mutants`, () => {
    const checkedIn = readCorpus(CORPUS);
    expect(checkedIn.length).toBeGreaterThan(2);
    const runs = replayWithMutants('restoreState', target, checkedIn, FUZZ_MS);
    expect(runs).toBeGreaterThan(target.seeds().length + checkedIn.length);
  });
});
