// `pnpm demo` on a fresh machine: QEMU is absent when its modules load and installed by its set-up
// step a moment later. host-tools must see it then, in the same process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QEMU, qemuInstalled } from './host-tools';

const savedPath = process.env.PATH;
let dir: string | undefined;

afterEach(() => {
  process.env.PATH = savedPath;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('host tools', () => {
  it('QEMU absent at start and installed later is found when asked, not when imported', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-hosttools-'));
    process.env.PATH = dir; // a machine without QEMU on its PATH
    expect(qemuInstalled()).toBe(false);
    // The set-up step "installs" it (a stand-in that answers --version like the real one).
    const fake = path.join(dir, QEMU);
    fs.writeFileSync(fake, '#!/bin/sh\necho "QEMU emulator version 7.2.0"\n', { mode: 0o755 });
    expect(qemuInstalled()).toBe(true);
  });

  it('the demo asks after its set-up step, and imports no module that decides at load time', () => {
    const demo = fs.readFileSync(path.join(import.meta.dirname, '../../tools/demo.ts'), 'utf8');
    expect(demo).not.toMatch(/test-support/);
    const setup = demo.indexOf("'tools/setup/system-deps.sh'");
    const ask = demo.indexOf('qemuInstalled()');
    expect(setup).toBeGreaterThan(0);
    expect(ask).toBeGreaterThan(setup);
  });
});
