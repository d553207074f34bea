import { describe, expect, it } from 'vitest';
import { ConsoleCapture } from './console-capture';

describe('ConsoleCapture.waitFor', () => {
  it('finds text that came, and refuses a wait setTimeout cannot keep instead of firing at once', async () => {
    const c = new ConsoleCapture(() => {});
    c.push(new TextEncoder().encode('ready 7\n'));
    expect((await c.waitFor(/ready (\d+)\n/, { timeoutMs: 0 }))[1]).toBe('7');
    for (const timeoutMs of [-1, Number.NaN, Infinity, 2 ** 31])
      await expect(c.waitFor('never', { timeoutMs })).rejects.toMatchObject({
        code: 'EINVAL',
        message: expect.stringMatching(/timeoutMs .* is not a number of milliseconds from 0 to 2147483647/),
      });
    await expect(c.waitFor('never', { timeoutMs: 20 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });
});
