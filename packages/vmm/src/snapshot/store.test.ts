// Where a snapshot may be written: a new or empty directory (made with its parents, mode 0700);
// a file, a path through a file, or a directory holding a snapshot is refused with a sentence.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArrayGuestMemory } from '@vmm/hypervisor';
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

describe('saveSnapshot', () => {
  it('a write that fails part-way keeps nothing of the snapshot and says why', () => {
    const d = path.join(dir, 'partial');
    fs.mkdirSync(path.join(d, 'memory'), { recursive: true }); // in the way of the memory file
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
    expect(() =>
      saveSnapshot(d, { config, kvm: sampleState(), devices: { uart, gedEvents: 0, virtio: [] }, memory }),
    ).toThrow(
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
