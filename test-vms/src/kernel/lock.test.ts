import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withLock } from './lock';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-lock-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('build lock', () => {
  it('runs holders one after another and releases the lock', async () => {
    const lock = path.join(tmp, 'a');
    const events: string[] = [];
    const job = (name: string) =>
      withLock(lock, 'test', async () => {
        events.push(`${name}+`);
        await new Promise((r) => setTimeout(r, 50));
        events.push(`${name}-`);
        return name;
      });
    expect(await Promise.all([job('x'), job('y')])).toEqual(['x', 'y']);
    expect(events).toEqual(['x+', 'x-', 'y+', 'y-']);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('takes over a lock whose owner is gone', async () => {
    const lock = path.join(tmp, 'b');
    fs.mkdirSync(lock);
    // pid_max is at most 2^22 on Linux: this pid cannot be alive.
    fs.writeFileSync(path.join(lock, 'pid'), String(2 ** 22 + 1));
    expect(await withLock(lock, 'test', async () => 'got it')).toBe('got it');
  });
});
