// Items 1 and 2 of the hostile-guest review: nothing that holds a view of guest RAM survives a
// reset or a reboot, and guest RAM is never unmapped under a thread that may touch it. Each
// scenario runs in a child process (support/remap-child.ts) on real memfd RAM whose first
// mapping is gone before the second boot's I/O: a device still using the old views dies of
// SIGSEGV there, which fails the test here instead of killing the test runner.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTsxChild } from '../support/tsx-child';

const child = path.join(import.meta.dirname, '../support/remap-child.ts');

/** Run a scenario; its facts. A SIGSEGV (a device touching unmapped RAM) fails here with its stderr. */
async function runChild(scenario: string): Promise<Record<string, unknown>> {
  const r = await runTsxChild(child, [scenario], { timeoutMs: 90_000 });
  const where = `scenario ${scenario}: exit ${r.code}, signal ${r.signal}\n${r.err}`;
  expect(r.signal, where).toBeNull();
  expect(r.code, where).toBe(0);
  const facts = JSON.parse(r.out.trim().split('\n').at(-1)!) as Record<string, unknown>;
  expect(facts.ok).toBe(true);
  return facts;
}

describe('a reboot onto RAM mapped elsewhere: I/O lands in the new RAM, the old one is never touched', () => {
  it.each(['rng', 'console', 'net', 'blk-main', 'blk-thread'])('%s', async (scenario) => {
    await runChild(scenario);
  });
});

describe('random sequences of requests, kicks, resets and reboots on fresh RAM each boot', () => {
  it('rng, console, net, blk and blk in its thread: no crash, and a clean boot afterwards does its I/O', async () => {
    const facts = await runChild('sequence');
    console.log(`remap sequence: seed ${facts.seed} (REMAP_SEED=${facts.seed} replays it)`);
  });
});

describe('a reset or the end of a boot in the middle of a ring full of 256 MiB disk reads', () => {
  it('is answered within a chunk or two of I/O, and RAM is unmapped right after without a crash', async () => {
    const facts = await runChild('blk-thread-batch');
    console.log(`blk long batch: ${JSON.stringify(facts)}`);
    // Counters, not clocks: the I/O done between posting the command and its answer.
    expect(facts.resetChunks).toBeLessThanOrEqual(2);
    expect(facts.detachChunks).toBeLessThanOrEqual(2);
  });
});
