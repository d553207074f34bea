import { describe, expect, it } from 'vitest';
import { rateLimitedLog } from './rate-limited';

describe('rate-limited log', () => {
  it('one line per kind per interval; the next one counts what was held back', () => {
    const lines: string[] = [];
    let t = 0;
    const log = rateLimitedLog(
      (l) => lines.push(l),
      1000,
      () => t,
    );
    for (let i = 0; i < 1000; i++) log('flood', `refused ${i}`);
    log('other', 'a different event');
    expect(lines).toEqual(['refused 0', 'a different event']);
    t = 1500;
    log('flood', 'refused again');
    expect(lines.at(-1)).toBe('refused again (and 999 more like it)');
    log('flood', 'held');
    t = 2600;
    log('flood', 'later');
    expect(lines.at(-1)).toBe('later (and 1 more like it)');
  });
});
