// Fuzz: the FUSE server's fuzz target (request.fuzz-target.ts) run for a bounded time on its seeds,
// its corpus (streams the kernel sent through /dev/fuse) and random and mutated request streams;
// then the host file system is checked from outside the target: the temporary tree holds only the
// share and its sibling, the sibling is as it was (every name, size, mode, link count, time and
// content), and the server left no fd open. The seed is printed; FUZZ_SEED=<seed> replays a run.
// (tools/fuzz/targets.test.ts also runs this target coverage-guided.)
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Mutator } from '../../../../tools/fuzz/mutate';
import { Rng } from '../../../../tools/fuzz/rng';
import * as target from './request.fuzz-target';
import { fuzzSeed } from '../../test/support/fuzz-seed';

const FUZZ_MS = 3000;
const CORPUS = path.resolve(import.meta.dirname, '../../fuzz/corpus/fs/request');

function tree(dir: string): string {
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .sort()
    .map((p) => {
      const st = fs.lstatSync(path.join(dir, p));
      const body = st.isFile() ? fs.readFileSync(path.join(dir, p), 'utf8') : '';
      return `${p} ${st.mode} ${st.size} ${st.nlink} ${st.mtimeMs} ${st.ctimeMs} ${body}`;
    })
    .join('\n');
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;

afterAll(() => target.close());

describe('FUSE request fuzz', () => {
  it(`survives seeds, the kernel's own request streams and ${FUZZ_MS} ms of mutants; nothing outside the share is touched`, () => {
    const { base, share, outside } = target.paths;
    const outsideBefore = tree(outside);
    const fdsBefore = openFds();
    const s = fuzzSeed();
    console.log(`FUSE request fuzz: seed ${s} (FUZZ_SEED=${s} replays it)`);
    const rng = new Rng(s);
    const corpus = [
      ...target.seeds(),
      ...(fs.existsSync(CORPUS)
        ? fs.readdirSync(CORPUS).map((f) => new Uint8Array(fs.readFileSync(path.join(CORPUS, f))))
        : []),
    ];
    expect(corpus.length).toBeGreaterThan(8);
    const mutator = new Mutator(rng, [], target.maxLength);
    let runs = 0;
    const replay = (input: Uint8Array) => {
      try {
        target.fuzz(input);
      } catch (e) {
        throw new Error(`FUZZ_SEED=${s}, input ${runs}: ${Buffer.from(input).toString('hex')}`, { cause: e });
      }
      runs++;
    };
    for (const input of corpus) replay(input);
    const deadline = Date.now() + FUZZ_MS;
    while (Date.now() < deadline) {
      if (rng.below(8) === 0) {
        const random = new Uint8Array(rng.below(512));
        for (let i = 0; i < random.length; i++) random[i] = rng.below(256);
        replay(random);
      } else replay(mutator.mutate(corpus[rng.below(corpus.length)]!, corpus).slice());
    }
    console.log(`FUSE request fuzz: ${runs} request streams`);
    expect(runs).toBeGreaterThan(corpus.length);
    // The host, from outside the target: only the share and its sibling; the sibling unchanged;
    // every fd the servers opened is closed again.
    expect(fs.readdirSync(base).sort()).toEqual(['outside', 'share']);
    expect(tree(outside)).toBe(outsideBefore);
    expect(fs.existsSync(path.join(share, 'a'))).toBe(true);
    expect(openFds()).toBe(fdsBefore);
  }, 60_000);
});
