import { EventfdNotifier } from '@vmm/hypervisor';
import { describe, expect, it } from 'vitest';
import { EventfdPoller } from './eventfd-poller';

describe('eventfd poller thread', () => {
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
});
