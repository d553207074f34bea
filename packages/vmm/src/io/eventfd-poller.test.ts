import fs from 'node:fs';
import { EventfdNotifier } from '@vmm/hypervisor';
import { describe, expect, it } from 'vitest';
import { startModuleWorker } from '../worker-url';
import { EventfdPoller } from './eventfd-poller';
import { bindPoll } from './pollfd';

const openFds = () => fs.readdirSync('/proc/self/fd').length;

/** Run `n` calls that each hold a thread of libuv's pool for `ms`: the time all took, or Infinity
 *  if they had not all run within 3 s (no thread of the pool free for them). */
async function holdPoolThreads(n: number, ms: number): Promise<number> {
  const poll = bindPoll();
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const all = Promise.all(
    Array.from(
      { length: n },
      () => new Promise<void>((r) => poll.async(new Uint8Array(0), 0, ms, () => r())),
    ),
  );
  const ran = await Promise.race([
    all.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(r, 3000, false))),
  ]);
  clearTimeout(timer);
  return ran ? performance.now() - t0 : Infinity;
}

describe('eventfd poller (a poll(2) on a thread of libuv’s pool, shared by every VM of the process)', () => {
  it('waits from the first watch, not before; once nothing is watched it holds no fd', async () => {
    const before = openFds();
    const poller = new EventfdPoller();
    poller.unwatchAll();
    expect(poller.started).toBe(false);
    await poller.close();
    const used = new EventfdPoller();
    const a = EventfdNotifier.create();
    const fired = new Promise<void>((r) => used.watch(a, r));
    expect(used.started).toBe(true);
    a.signal();
    await fired;
    await used.close();
    a.close();
    expect(openFds()).toBe(before); // the shared wake-up eventfd is closed too
  });

  it('reports each signalled eventfd on the main thread, drained', { timeout: 30_000 }, async () => {
    const poller = new EventfdPoller();
    const a = EventfdNotifier.create();
    const b = EventfdNotifier.create();
    const seen: string[] = [];
    let next: (() => void) | undefined;
    const fired = () => new Promise<void>((r) => (next = r));
    poller.watch(a, () => (seen.push('a'), next?.()));
    poller.watch(b, () => (seen.push('b'), next?.()));
    // Signals before a fire is reported coalesce (an eventfd is a counter): wait for each.
    for (const n of [a, b, a]) {
      const f = fired();
      n.signal();
      await f;
    }
    expect(seen).toEqual(['a', 'b', 'a']);
    expect(a.drain()).toBe(0n); // the poller consumed the counts

    // A new boot: the old notifiers are forgotten (and may be closed), a new one is watched.
    poller.unwatchAll();
    a.close();
    const c = EventfdNotifier.create();
    poller.watch(c, () => (seen.push('c'), next?.()));
    const f = fired();
    c.signal();
    await f;
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual(['a', 'b', 'a', 'c']);
    c.close();
    await poller.close();
    b.close();
  });

  it('four VMs watching hold one thread of the pool between them: three calls of 300 ms run side by side', async () => {
    const pollers = Array.from({ length: 4 }, () => new EventfdPoller());
    const kicks = pollers.map(() => EventfdNotifier.create());
    const calls = [0, 0, 0, 0];
    pollers.forEach((p, i) => p.watch(kicks[i]!, () => calls[i]!++));
    await new Promise((r) => setTimeout(r, 100)); // the wait for all four is in flight
    // libuv's pool has 4 threads: a wait each would leave none, and these calls would never run.
    const took = await holdPoolThreads(3, 300);
    expect(took).toBeLessThan(590); // 3 side by side; ~600 if two threads were held
    // Each VM's kicks reach its own watcher; closing one leaves the others watched.
    await pollers[0]!.close();
    for (let i = 1; i < 4; i++) {
      kicks[i]!.signal();
      for (let j = 0; j < 200 && calls[i] === 0; j++) await new Promise((r) => setTimeout(r, 5));
    }
    expect(calls).toEqual([0, 1, 1, 1]);
    for (const p of pollers) await p.close();
    for (const k of kicks) k.close();
  });

  it('coalesces: 100 000 kicks while the main thread is busy become one call (two when the last race it)', async () => {
    const poller = new EventfdPoller();
    const kick = EventfdNotifier.create();
    let calls = 0;
    poller.watch(kick, () => calls++);
    const done = new SharedArrayBuffer(4);
    const writer = startModuleWorker(new URL('./test-support/eventfd-writer.ts', import.meta.url), {
      workerData: { fd: kick.fd, count: 100_000, done },
    });
    // The main thread is held (as by a long device batch) until every kick was written.
    Atomics.wait(new Int32Array(done), 0, 0, 60_000);
    expect(Atomics.load(new Int32Array(done), 0)).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    // The wait ended at the first kick and its callback waited for the main thread; a second
    // call only when the next wait saw kicks written after the first callback drained the count.
    expect(poller.messages).toBeGreaterThanOrEqual(1);
    expect(poller.messages).toBeLessThanOrEqual(2);
    expect(calls).toBe(poller.messages);
    // And the next kick is seen again.
    const before = calls;
    kick.signal();
    for (let i = 0; i < 100 && calls === before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(calls).toBe(before + 1);
    await writer.terminate();
    await poller.close();
    kick.close();
  });
});
