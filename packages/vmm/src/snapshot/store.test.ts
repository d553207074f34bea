// Where a snapshot may be written: a new or empty directory (made with its parents, mode 0700);
// a file, a path through a file, or a directory holding a snapshot is refused with a sentence.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareSnapshotDir } from './store';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-snapstore-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('prepareSnapshotDir', () => {
  it('makes a missing directory and its parents, owner-only', () => {
    const d = path.join(dir, 'a', 'b');
    prepareSnapshotDir(d);
    expect(fs.statSync(d).mode & 0o777).toBe(0o700);
    prepareSnapshotDir(d); // empty: still fine
  });

  it('refuses a file, a path through a file, and a directory that holds a snapshot', () => {
    const f = path.join(dir, 'file');
    fs.writeFileSync(f, 'x');
    for (const d of [f, path.join(f, 'sub')]) {
      expect(() => prepareSnapshotDir(d)).toThrow(
        expect.objectContaining({
          code: 'ESNAPSHOTDIR',
          message: expect.stringMatching(
            /cannot write a snapshot into .*: it \(or a folder on its path\) is a file: give a new or empty directory/,
          ),
        }),
      );
    }
    const held = path.join(dir, 'held');
    fs.mkdirSync(held);
    fs.writeFileSync(path.join(held, 'manifest.json'), '{}');
    expect(() => prepareSnapshotDir(held)).toThrow(expect.objectContaining({ code: 'ESNAPSHOTEXISTS' }));
  });
});
