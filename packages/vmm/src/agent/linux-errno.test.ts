// The Linux errno and signal tables against the host's own, where the host is Linux (os.constants).
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { linuxErrno, linuxErrnoName } from './linux-errno';
import { linuxSignalName } from './linux-signals';

const linux = process.platform === 'linux';
if (!linux) console.log(`SKIPPED Linux errno/signal check: this host is ${process.platform}`);

describe.skipIf(!linux)('Linux errno and signal numbers', () => {
  it('match the host for every errno name the table knows', () => {
    let checked = 0;
    for (const [name, n] of Object.entries(os.constants.errno)) {
      const mine = linuxErrno(name);
      if (mine === undefined) continue; // aliases (EWOULDBLOCK, ENOTSUP) are named by their twin
      expect([name, mine]).toEqual([name, n]);
      expect(linuxErrnoName(n)).toBe(name);
      checked++;
    }
    expect(checked).toBeGreaterThan(70); // Node lists 77 on Linux
    expect(linuxErrnoName(111)).toBe('ECONNREFUSED');
    expect(linuxErrnoName(4000)).toBe('E4000');
  });

  it('match the host for signals 1 to 31', () => {
    for (const [name, n] of Object.entries(os.constants.signals)) {
      if (n >= 1 && n <= 31 && name !== 'SIGIOT' && name !== 'SIGPOLL' && name !== 'SIGUNUSED') {
        expect(linuxSignalName(n)).toBe(name);
      }
    }
    expect(linuxSignalName(40)).toBe('SIG40');
  });
});
