// A fuzz target's replay in a unit test: its seeds and checked-in corpus, then mutants of them for
// `ms`, from a printed seed (FUZZ_SEED=<seed> replays a run). A failing input throws with the seed,
// its index and its bytes in hex, the target's own error as the cause. Returns the inputs run.
import fs from 'node:fs';
import path from 'node:path';
import { Mutator } from './mutate';
import { Rng, freshSeed, seedFromEnv } from './rng';

export interface ReplayTarget {
  fuzz(data: Uint8Array): void;
  seeds(): Uint8Array[];
  maxLength: number;
}

/** Every file of a checked-in corpus directory. */
export function readCorpus(dir: string): Uint8Array[] {
  return fs.readdirSync(dir).map((f) => new Uint8Array(fs.readFileSync(path.join(dir, f))));
}

export function replayWithMutants(
  name: string,
  target: ReplayTarget,
  corpus: Uint8Array[],
  ms: number,
): number {
  const seed = seedFromEnv(freshSeed());
  console.log(`${name} fuzz: seed ${seed} (FUZZ_SEED=${seed} replays it)`);
  const inputs = [...target.seeds(), ...corpus];
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
  for (const deadline = Date.now() + ms; Date.now() < deadline;)
    run(mutator.mutate(inputs[rng.below(inputs.length)]!, inputs).slice());
  return runs;
}
