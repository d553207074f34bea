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

describe('ConsoleCapture input and patterns from JavaScript callers', () => {
  it('refuses a pattern that is not a RegExp or a string, and input that is not text or bytes', async () => {
    const c = new ConsoleCapture(() => {});
    // Before: 5 was looked for as the text "5"; write(5) threw Node's ERR_INVALID_ARG_TYPE.
    await expect(c.waitFor(5 as unknown as string, { timeoutMs: 10 })).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringMatching(/the pattern 5 is not a RegExp or a string/),
    });
    expect(() => c.write(5 as unknown as string)).toThrow(/console.write: give a string or bytes/);
    c.write('ok');
    c.write(Uint8Array.of(0x21));
    expect(c.input.read()?.toString()).toBe('ok!');
  });
});
