import { describe, expect, it } from 'vitest';
import { AdaptivePollWindow, POLL_START_NS } from './adaptive-poll';

describe('adaptive polling window (QEMU adjust_polling_time)', () => {
  it('starts off, grows by doubling while work arrives past the window but within the most', () => {
    const w = new AdaptivePollWindow(500_000);
    expect(w.ns).toBe(0);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      w.record(300_000);
      seen.push(w.ns);
    }
    expect(seen).toEqual([4000, 8000, 16000, 32000, 64000, 128000, 256000, 500000, 500000, 500000]);
  });

  it('keeps a window that catches the work, halves it down to 0 while waits are longer than the most', () => {
    const w = new AdaptivePollWindow(512_000);
    for (let i = 0; i < 8; i++) w.record(300_000);
    w.record(100);
    expect(w.ns).toBe(512_000);
    const seen: number[] = [];
    for (let i = 0; i < 9; i++) {
      w.record(2_000_000); // an idle spell: polling would not have caught it
      seen.push(w.ns);
    }
    expect(seen).toEqual([256000, 128000, 64000, 32000, 16000, 8000, 4000, 0, 0]);
    w.record(1_000);
    expect(w.ns).toBe(POLL_START_NS);
  });

  it('never polls with a most of 0, and refuses a bad most', () => {
    const w = new AdaptivePollWindow(0);
    for (const b of [0, 1, 1000, 1e9]) {
      w.record(b);
      expect(w.ns).toBe(0);
    }
    expect(() => new AdaptivePollWindow(-1)).toThrow(RangeError);
    expect(() => new AdaptivePollWindow(NaN)).toThrow(RangeError);
  });
});
