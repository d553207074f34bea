// Where a snapshot may be written: a new or empty directory (made with its parents, mode 0700);
// a file, a path through a file, or a directory holding a snapshot is refused with a sentence.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArrayGuestMemory, OfdLock, fsConst } from '@vmm/hypervisor';
import { sampleState } from '../../../hypervisor/src/test-support/sample-state';
import type { VmConfig } from '../config';
import { createUartState } from '../devices/uart/uart16550';
import { prepareSnapshotDir, saveSnapshot } from './store';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-snapstore-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('prepareSnapshotDir', () => {
  it('makes a missing directory and its parents, owner-only', () => {
    const d = path.join(dir, 'a', 'b');
    prepareSnapshotDir(d);
    expect(fs.statSync(d).mode & 0o777).toBe(0o700);
    prepareSnapshotDir(d); // empty: still fine
  });

  it('refuses a file and a path through a file', () => {
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
  });
});

/** A small VM's snapshot contents: 1 MiB of RAM with one word set. */
function contents() {
  const config: VmConfig = {
    kernel: '/k/vmlinux',
    cmdline: '',
    cpus: { boot: 1 },
    memory: { size: 1 << 20 },
    serial: { mode: 'tty' },
    noReboot: false,
    hostQuirks: 'auto',
  };
  const memory = new ArrayGuestMemory([{ gpa: 0, size: 1 << 20 }]);
  memory.writeU32(4096, 0xfeedface);
  const uart = Buffer.from(new Uint8Array(createUartState())).toString('base64');
  return { config, kvm: sampleState(), devices: { uart, gedEvents: 0, virtio: [] }, memory };
}

describe('saveSnapshot', () => {
  it('refuses a directory that holds a snapshot, and leaves it as it was', () => {
    const held = path.join(dir, 'held');
    fs.mkdirSync(held);
    fs.writeFileSync(path.join(held, 'manifest.json'), '{}');
    expect(() => saveSnapshot(held, contents())).toThrow(
      expect.objectContaining({ code: 'ESNAPSHOTEXISTS' }),
    );
    expect(fs.readdirSync(held)).toEqual(['manifest.json']);
  });

  it('a directory another writer is writing a snapshot into is refused and left to it; its claim dies with it', () => {
    const d = path.join(dir, 'busy');
    fs.mkdirSync(d);
    // The other writer: the manifest's temporary file, write-locked, with its content so far.
    const claim = path.join(d, 'manifest.json.tmp');
    fs.writeFileSync(claim, 'theirs');
    const theirs = fs.openSync(claim, 'r+');
    expect(new OfdLock(theirs).set(fsConst.F_WRLCK, 0, 0)).toBe('ok');
    expect(() => saveSnapshot(d, contents())).toThrow(
      expect.objectContaining({
        code: 'ESNAPSHOTDIR',
        message: expect.stringMatching(/another snapshot is being written into .*busy right now/),
      }),
    );
    expect(fs.readdirSync(d)).toEqual(['manifest.json.tmp']);
    expect(fs.readFileSync(claim, 'utf8')).toBe('theirs');
    // It ends (or dies) without finishing: its lock goes with its file, and the directory is free.
    fs.closeSync(theirs);
    saveSnapshot(d, contents());
    expect(fs.readdirSync(d).sort()).toEqual(['devices.json', 'kvm.state', 'manifest.json', 'memory']);
    // A snapshot landed there first: refused, and the claim made to find that out is not left.
    expect(() => saveSnapshot(d, contents())).toThrow(expect.objectContaining({ code: 'ESNAPSHOTEXISTS' }));
    expect(fs.readdirSync(d)).not.toContain('manifest.json.tmp');
  });

  it('a write that fails part-way keeps nothing of the snapshot and says why', () => {
    const d = path.join(dir, 'partial');
    fs.mkdirSync(path.join(d, 'memory'), { recursive: true }); // in the way of the memory file
    expect(() => saveSnapshot(d, contents())).toThrow(
      expect.objectContaining({
        code: 'ESNAPSHOTWRITE',
        message: expect.stringMatching(
          /writing the snapshot into .*partial failed \(EISDIR\): .*nothing of it was kept/,
        ),
      }),
    );
    // The state files written before the failure are gone; what was in the way stays.
    expect(fs.readdirSync(d)).toEqual(['memory']);
    expect(fs.statSync(path.join(d, 'memory')).isDirectory()).toBe(true);
  });
});
