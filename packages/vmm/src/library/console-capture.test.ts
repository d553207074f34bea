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

describe('ConsoleCapture.write and a guest that does not read', () => {
  it('says when its input is backed up, and drains when read', async () => {
    const c = new ConsoleCapture(() => {});
    // As the monitor's serial side does past 64 KiB held: the input stops flowing.
    c.input.pause();
    let accepted = 0;
    while (c.write('x'.repeat(4096))) accepted += 4096;
    // true while it takes more, false at the stream's own high-water mark (not unbounded)
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(1024 * 1024);
    const drained = new Promise((r) => c.input.once('drain', r));
    c.input.on('data', () => {});
    c.input.resume();
    await drained;
  });
});
