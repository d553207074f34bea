import { EventfdNotifier } from '@vmm/hypervisor';
import { describe, expect, it } from 'vitest';
import { startModuleWorker } from '../worker-url';
import { EventfdPoller } from './eventfd-poller';

describe('eventfd poller thread', () => {
  it('starts its thread at the first watch, not before: a VM without such devices has none', async () => {
    const poller = new EventfdPoller(EventfdNotifier.create());
    poller.unwatchAll();
    expect(poller.started).toBe(false);
    await poller.close(); // closes its wake-up notifier, with no thread to stop
    const used = new EventfdPoller(EventfdNotifier.create());
    const a = EventfdNotifier.create();
    const fired = new Promise<void>((r) => used.watch(a, r));
    expect(used.started).toBe(true);
    a.signal();
    await fired;
    await used.close();
    a.close();
  });

  it('reports each signalled eventfd on the main thread, drained', { timeout: 30_000 }, async () => {
    const poller = new EventfdPoller(EventfdNotifier.create());
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

  it('coalesces: 100 000 kicks while the main thread is busy become one message and one call (two when the last race it)', async () => {
    const poller = new EventfdPoller(EventfdNotifier.create());
    const kick = EventfdNotifier.create();
    let calls = 0;
    poller.watch(kick, () => calls++);
    await new Promise((r) => setTimeout(r, 100)); // the poller has the fd list
    const done = new SharedArrayBuffer(4);
    const writer = startModuleWorker(new URL('./test-support/eventfd-writer.ts', import.meta.url), {
      workerData: { fd: kick.fd, count: 100_000, done },
    });
    // The main thread is held (as by a long device batch) until every kick was written.
    Atomics.wait(new Int32Array(done), 0, 0, 60_000);
    expect(Atomics.load(new Int32Array(done), 0)).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    // One message was outstanding all along; a second one only when the poller drained the last
    // kicks while the main thread was reading the flags of the first (a loaded machine's race).
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
