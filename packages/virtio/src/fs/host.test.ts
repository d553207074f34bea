// HostFs.pathOf: the O_PATH fd a CREATE keeps for its new node names exactly the inode the open
// fd holds, whether through open_tree or the reopen through /proc it falls back to (a kernel
// before 5.2, or a container's filter that refuses open_tree), even once the name is gone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cString, fsConst as C } from '@vmm/hypervisor';
import { afterEach, describe, expect, it } from 'vitest';
import { HostFs } from './host';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('HostFs.pathOf', () => {
  for (const via of ['open_tree', 'the /proc reopen'] as const) {
    it(`gives an O_PATH fd of the open file's inode, through ${via}`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostfs-'));
      dirs.push(dir);
      const host = new HostFs();
      // The fallback, as after open_tree failed with ENOSYS or EPERM.
      if (via !== 'open_tree') (host as unknown as { openTree: boolean }).openTree = false;
      const file = path.join(dir, 'f');
      const fd = host.fs.openat(C.AT_FDCWD, cString(file), C.O_CREAT | C.O_RDWR | C.O_CLOEXEC, 0o600);
      expect(fd).toBeGreaterThanOrEqual(0);
      const ino = fs.fstatSync(fd).ino;
      // The name moved away and another file put in its place: the fd still names the first.
      fs.renameSync(file, path.join(dir, 'moved'));
      fs.writeFileSync(file, 'other');
      const pfd = host.pathOf(fd);
      expect(pfd).toBeGreaterThanOrEqual(0);
      try {
        expect(fs.fstatSync(pfd).ino).toBe(ino);
        // O_PATH: no I/O through it.
        const flags = /flags:\s+([0-7]+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${pfd}`, 'utf8'))![1]!;
        expect(Number.parseInt(flags, 8) & C.O_PATH).toBe(C.O_PATH);
        expect(() => fs.readSync(pfd, Buffer.alloc(1))).toThrow(/EBADF/);
        // open_tree was not refused here: the first case went through it.
        expect((host as unknown as { openTree: boolean }).openTree).toBe(via === 'open_tree');
      } finally {
        fs.closeSync(pfd);
        fs.closeSync(fd);
      }
    });
  }
});
