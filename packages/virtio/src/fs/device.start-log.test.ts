// A share's descriptor budget, said at start (before the device runs) through the device's
// startLog, not the library's console.warn; a device thread's copy of the options drops it (its
// model in the main thread said it). Its own file: fd-budget.ts says it once per module instance.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { FsDevice } from './device';

const MAX = 1 << 24;
const hard = Number(/^Max open files\s+\S+\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.[1]);
const cannot = !(hard < 2 * MAX) && `the hard RLIMIT_NOFILE (${hard}) has room for ${2 * MAX} fds`;
if (cannot) console.warn(`SKIP (${cannot}): virtio-fs start-up warning through startLog`);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'virtio-fs-start-log-'));
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

it.skipIf(cannot)(
  'a share that may hold more fds than the process can open says so through startLog, once',
  () => {
    const warn = vi.spyOn(console, 'warn');
    const lines: string[] = [];
    const device = new FsDevice({
      tag: 'share',
      root: dir,
      maxNodes: MAX,
      maxHandles: MAX,
      startLog: (kind, line) => lines.push(`${kind}: ${line}`),
    });
    try {
      expect(lines).toEqual([
        expect.stringMatching(
          /^fs-fd-budget: .* the guest may hold 16777216 host files .*RLIMIT_NOFILE is \d+/,
        ),
      ]);
      expect(warn).not.toHaveBeenCalled();
      // The thread's copy: plain data, and silent there.
      const { options } = device.threadSpec();
      expect(options).toMatchObject({ startLog: 'drop', maxNodes: MAX });
      expect(() => structuredClone(options)).not.toThrow();
    } finally {
      device.close();
    }
  },
);
