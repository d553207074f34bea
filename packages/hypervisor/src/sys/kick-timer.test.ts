// The periodic kick without KVM: this thread blocks the kick signal and waits for it in
// sigtimedwait (which, like KVM_RUN with KVM_SET_SIGNAL_MASK, takes it only while it waits). Not
// timed: a wait of 20 s that returns true was ended by the timer; after close() a wait of 300 ms
// (150 of the timer's intervals) that returns false shows it stopped.
import { afterEach, describe, expect, it } from 'vitest';
import { KickTimer } from './kick-timer';
import { blockKickSignal, KickReceiver, unblockKickSignal } from './signals';

describe('KickTimer', () => {
  afterEach(() => unblockKickSignal());

  it('kicks the thread that made it again and again, and no more once closed', () => {
    blockKickSignal();
    const rx = new KickReceiver();
    rx.drain();
    const timer = new KickTimer(2e6);
    try {
      for (let i = 0; i < 3; i++) expect(rx.take(20e9)).toBe(true);
    } finally {
      timer.close();
    }
    rx.drain(); // one sent before close() may be pending
    expect(rx.take(300e6)).toBe(false);
    timer.close(); // twice is harmless
  });

  it('refuses an interval that is not a positive whole number of nanoseconds', () => {
    expect(() => new KickTimer(0)).toThrow(RangeError);
    expect(() => new KickTimer(1.5)).toThrow(RangeError);
  });
});
