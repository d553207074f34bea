import { describe, expect, it } from 'vitest';
import { EventfdNotifier } from './event-notifier';

describe('EventfdNotifier (real eventfd)', () => {
  it('counts signals, drains without blocking', () => {
    const n = EventfdNotifier.create();
    try {
      expect(n.fd).toBeGreaterThan(2);
      expect(n.drain()).toBe(0n);
      n.signal();
      n.signal();
      n.signal();
      expect(n.drain()).toBe(3n);
      expect(n.drain()).toBe(0n);
    } finally {
      n.close();
      n.close(); // idempotent
    }
  });
});
