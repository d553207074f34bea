// Extended attributes as the host sees them, for the tests of the initramfs's xattr tool
// (test-vms/initramfs/xattr.c) and of virtio-fs shares. Node has no xattr API: attr's getfattr and
// setfattr where installed, else the tool itself, which runs on the host as it does in the guest
// (a static x86-64 program; buildProgram('xattr') gives its path).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { commandWorks } from '../host-tools';

export interface XattrRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `tool ...args`, waited for. */
export function runXattr(tool: string, ...args: string[]): XattrRun {
  const r = spawnSync(tool, args, { encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** getfattr's messages in English: "No such attribute" is ENODATA. */
const C_LOCALE = { ...process.env, LC_ALL: 'C' };

/**
 * The value of attribute `name` of `file` as the host reads it, or undefined when the file has
 * none (ENODATA): getfattr when installed, else `tool get`. Anything else throws.
 */
export function hostXattr(tool: string, file: string, name: string): string | undefined {
  if (commandWorks('getfattr')) {
    const r = spawnSync('getfattr', ['--absolute-names', '--only-values', '-n', name, file], {
      encoding: 'utf8',
      env: C_LOCALE,
    });
    if (r.status === 0) return r.stdout;
    if (/No such attribute/.test(r.stderr)) return undefined;
    throw new Error(`getfattr -n ${name} ${file} failed (${r.status}): ${r.stderr.trim()}`);
  }
  const r = runXattr(tool, 'get', file, name);
  if (r.status === 0) return r.stdout.replace(/\n$/, '');
  if (r.stderr === 'xattr: get: ENODATA\n') return undefined;
  throw new Error(`${tool} get ${file} ${name} failed (${r.status}): ${r.stderr.trim()}`);
}

/**
 * The first of `dirs` whose file system keeps user.* attributes on a regular file, or undefined
 * (tmpfs keeps them only from Linux 6.6 on: not the test kernel's, which the nested-KVM host
 * runs). Probed with setfattr where installed, so that the tool under test does not decide whether
 * its own test runs.
 */
export function userXattrDir(tool: string, dirs: readonly string[]): string | undefined {
  const setfattr = commandWorks('setfattr');
  for (const dir of dirs) {
    const probe = path.join(dir, `.vmm-xattr-probe-${process.pid}`);
    try {
      fs.writeFileSync(probe, '');
    } catch {
      continue;
    }
    try {
      const r = setfattr
        ? spawnSync('setfattr', ['-n', 'user.vmm-probe', '-v', '1', probe])
        : spawnSync(tool, ['set', probe, 'user.vmm-probe', '1']);
      if (r.status === 0) return dir;
    } finally {
      fs.rmSync(probe, { force: true });
    }
  }
  return undefined;
}
