import { describe, expect, it } from 'vitest';
import { timerMs } from './timer-ms';

describe('a time in milliseconds for a timer', () => {
  it('takes 0 to 2^31 - 1 and refuses what setTimeout would turn into 1 ms', () => {
    expect(timerMs('x: ms', 0)).toBe(0);
    expect(timerMs('x: ms', 2 ** 31 - 1)).toBe(2 ** 31 - 1);
    for (const bad of [-1, Number.NaN, Infinity, 2 ** 31, '5' as unknown as number])
      expect(() => timerMs('vm.shutdown: graceMs', bad)).toThrow(
        /vm\.shutdown: graceMs .* is not a number of milliseconds from 0 to 2147483647/,
      );
  });
});
