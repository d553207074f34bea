// Fuzz: the snapshot's own files as a restore reads them, manifest.json (manifest.fuzz-target.ts)
// and devices.json (devices.fuzz-target.ts): each target's seeds and checked-in corpus (with the
// inputs that once broke the parsers, regression-*), then mutants of them for a short while. The
// seed is printed; FUZZ_SEED=<seed> replays a run. (tools/fuzz/targets.test.ts also runs these
// targets coverage-guided; pnpm fuzz vmm/snapshot runs them long.)
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Mutator } from '../../../../tools/fuzz/mutate';
import { Rng, freshSeed, seedFromEnv } from '../../../../tools/fuzz/rng';
import * as devices from './devices.fuzz-target';
import * as manifest from './manifest.fuzz-target';

const FUZZ_MS = 1000;
const CORPUS = path.resolve(import.meta.dirname, '../../fuzz/corpus/snapshot');

interface Target {
  fuzz(data: Uint8Array): void;
  seeds(): Uint8Array[];
  maxLength: number;
}

function corpus(name: string): Uint8Array[] {
  const dir = path.join(CORPUS, name);
  return fs.readdirSync(dir).map((f) => new Uint8Array(fs.readFileSync(path.join(dir, f))));
}

describe.each([
  ['manifest', manifest as Target],
  ['devices', devices as Target],
])('snapshot %s fuzz', (name, target) => {
  it(`keeps its contract on the seeds, the checked-in corpus and ${FUZZ_MS} ms of mutants`, () => {
    const seed = seedFromEnv(freshSeed());
    console.log(`snapshot ${name} fuzz: seed ${seed} (FUZZ_SEED=${seed} replays it)`);
    const checkedIn = corpus(name);
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
