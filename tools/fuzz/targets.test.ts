// pnpm test's share of fuzzing (docs/testing.md): every fuzz target (targets.ts) runs its seeds and
// checked-in corpus, then fuzzes for a short run from a fixed seed. A crash or hang fails with the
// input in hex, the seed and the commands that repeat it; the input is also saved under
// .cache/fuzz/targets/<id>/. FUZZ_SEED and FUZZ_TEST_SECONDS change the seed and the length.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveInput } from './corpus';
import { crashReport, shrinkCrash } from './crash';
import { FuzzSession, type Crash } from './engine';
import { seedFromEnv } from './rng';
import { findTargets } from './targets';

const SECONDS = Number(process.env.FUZZ_TEST_SECONDS ?? 2);
const SEED = seedFromEnv(20261202);
const targets = findTargets();
console.log(`fuzz targets: ${targets.length}, ${SECONDS} s each after their corpus, seed ${SEED}`);

for (const info of targets) {
  describe(`fuzz target ${info.id}`, () => {
    let session: FuzzSession | undefined;
    beforeAll(async () => {
      session = await FuzzSession.open(info);
    }, 120_000);
    afterAll(async () => {
      await session?.close();
    });

    const fail = (crash: Crash): never => {
      const input = shrinkCrash(session!, crash);
      const file = saveInput(info.outDir, input, crash.hang ? 'timeout-' : 'crash-');
      return expect.fail(crashReport(info.id, crash, input, file, SEED));
    };

    it('runs its seeds and checked-in corpus without a crash', async () => {
      const inputs = session!.startingInputs(false);
      const crash = await session!.replay(inputs);
      if (crash) fail(crash);
      expect(session!.features).toBeGreaterThan(0);
    });

    it(`fuzzes for ${SECONDS} s from seed ${SEED} without a crash`, async () => {
      const r = await session!.fuzz({ seed: SEED, seconds: SECONDS });
      const s = r.stats;
      console.log(
        `${info.id}: ${s.execs} execs (${Math.round(s.execs / s.seconds)}/s), ${s.features} features, corpus ${s.corpus}, seed ${SEED}`,
      );
      if (r.crash) fail(r.crash);
    }, 60_000);
  });
}
