// Fuzz: a virtio-mmio transport's saved state as a snapshot restore hands it back
// (restore-state.fuzz-target.ts): the target's seeds (states a driven transport saved) and its
// checked-in corpus (with the inputs that once got past restoreState's checks, regression-*), then
// mutants of them for a short while. The seed is printed; FUZZ_SEED=<seed> replays a run.
// (tools/fuzz/targets.test.ts also runs this target coverage-guided.)
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Mutator } from '../../../../tools/fuzz/mutate';
import { Rng, freshSeed, seedFromEnv } from '../../../../tools/fuzz/rng';
import * as target from './restore-state.fuzz-target';

const FUZZ_MS = 1000;
const CORPUS = path.resolve(import.meta.dirname, '../../fuzz/corpus/mmio/restore-state');

describe('virtio-mmio restoreState fuzz', () => {
  it(`keeps its contract on the seeds, the checked-in corpus and ${FUZZ_MS} ms of mutants`, () => {
    const seed = seedFromEnv(freshSeed());
    console.log(`restoreState fuzz: seed ${seed} (FUZZ_SEED=${seed} replays it)`);
    const checkedIn = fs
      .readdirSync(CORPUS)
      .map((f) => new Uint8Array(fs.readFileSync(path.join(CORPUS, f))));
    expect(checkedIn.length).toBeGreaterThan(2);
    const inputs = [...target.seeds(), ...checkedIn];
    let runs = 0;
    const run = (input: Uint8Array) => {
      try {
        target.fuzz(input);
      } catch (e) {
        throw new Error(`FUZZ_SEED=${seed}, input ${runs}: ${Buffer.from(input).toString('hex')}`, {
          cause: e,
        });
      }
      runs++;
    };
    for (const input of inputs) run(input);
    const rng = new Rng(seed);
    const mutator = new Mutator(rng, [], target.maxLength);
    for (const deadline = Date.now() + FUZZ_MS; Date.now() < deadline;)
      run(mutator.mutate(inputs[rng.below(inputs.length)]!, inputs).slice());
    expect(runs).toBeGreaterThan(inputs.length);
  });
});
