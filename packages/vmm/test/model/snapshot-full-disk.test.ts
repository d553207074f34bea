// A snapshot written to a file system that fills up (ENOSPC) fails with ESNAPSHOTWRITE naming the
// cause, and keeps nothing of itself: no partial memory file is left to take the space or to be
// mistaken for a snapshot. The full disk is a real one: a 256 KiB tmpfs, mounted in a private
// mount namespace (unshare -m) that the test makes for a child process.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(import.meta.dirname, '../../../..');

function whyNot(): string | undefined {
  if (spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status !== 0)
    return 'unshare -m fails here (no CAP_SYS_ADMIN in this container?)';
  return undefined;
}
const why = whyNot();
if (why) console.warn(`SKIP snapshot onto a full file system: ${why}`);

describe.skipIf(why !== undefined)('a snapshot onto a full file system', () => {
  it('fails with ESNAPSHOTWRITE (ENOSPC) and leaves its directory empty', () => {
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-snapfull-'));
    try {
      const child = path.join(repoRoot, 'packages/vmm/test/support/snapshot-full-disk-child.ts');
      const r = spawnSync(
        'unshare',
        [
          '-m',
          '--propagation',
          'private',
          'sh',
          '-c',
          'mount -t tmpfs -o size=256k vmm-snapfull "$1" && exec node --import tsx "$2" "$1/snap"',
          'sh',
          mnt,
          child,
        ],
        { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
        code?: string;
        message?: string;
        left: string[] | null;
      };
      expect(out.code).toBe('ESNAPSHOTWRITE');
      expect(out.message).toMatch(/failed \(ENOSPC\)/);
      expect(out.message).toMatch(/nothing of it was kept/);
      expect(out.left).toEqual([]);
    } finally {
      fs.rmSync(mnt, { recursive: true, force: true });
    }
  });
});
