// The initramfs's xattr tool (test-vms/initramfs/xattr.c) run here, on the host: a static x86-64
// program behaves the same outside the guest. set, get, list and rm on a file in a directory that
// keeps user.* attributes, cross-checked with attr's getfattr where installed; the bounds of its
// buffers; its error lines and exit codes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheDir } from '../cache';
import { commandWorks } from '../host-tools';
import { buildProgram } from './build';
import { hostXattr, runXattr, userXattrDir } from './xattr.test-support';

const canBuild = process.platform === 'linux' && process.arch === 'x64' && commandWorks('gcc');
if (!canBuild) console.warn('SKIP (not x86-64 Linux with gcc): the xattr tool test');
const tool = canBuild ? await buildProgram('xattr') : '';
const base = canBuild ? userXattrDir(tool, ['/dev/shm', os.tmpdir(), cacheDir()]) : undefined;
if (canBuild && !base) {
  console.warn(
    'SKIP (no user.* extended attributes in /dev/shm, the temporary or the cache directory): the xattr tool test',
  );
}

describe.skipIf(!base)('xattr tool of the test initramfs, on the host', () => {
  const dir = base ? fs.mkdtempSync(path.join(base, 'vmm-xattr-')) : '';
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  const x = (...args: string[]) => runXattr(tool, ...args);
  /** A run that failed with `line` on stderr, nothing on stdout, exit 1. */
  const failed = (line: string) => ({ status: 1, stdout: '', stderr: `${line}\n` });

  it('sets, gets, lists and removes user.* attributes, as getfattr sees them', () => {
    const f = path.join(dir, 'a.txt');
    fs.writeFileSync(f, 'data\n');
    expect(x('set', f, 'user.vmm', 'hello-xattr')).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(x('get', f, 'user.vmm')).toEqual({ status: 0, stdout: 'hello-xattr\n', stderr: '' });
    expect(hostXattr(tool, f, 'user.vmm')).toBe('hello-xattr');
    // Flags 0: a second set replaces; an empty value is a value.
    expect(x('set', f, 'user.vmm', 'two words').status).toBe(0);
    expect(x('set', f, 'user.empty', '').status).toBe(0);
    expect(x('get', f, 'user.vmm').stdout).toBe('two words\n');
    expect(x('get', f, 'user.empty')).toEqual({ status: 0, stdout: '\n', stderr: '' });
    expect(hostXattr(tool, f, 'user.empty')).toBe('');
    const list = x('list', f);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/\n$/);
    expect(list.stdout).not.toContain('\0');
    // Only the user.* names: a security module may add its own.
    const names = list.stdout.split('\n').filter((n) => n.startsWith('user.'));
    expect(names.sort()).toEqual(['user.empty', 'user.vmm']);
    expect(x('rm', f, 'user.vmm')).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(x('get', f, 'user.vmm')).toEqual(failed('xattr: get: ENODATA'));
    expect(hostXattr(tool, f, 'user.vmm')).toBeUndefined();
    expect(x('rm', f, 'user.vmm')).toEqual(failed('xattr: rm: ENODATA'));
    expect(
      x('list', f)
        .stdout.split('\n')
        .filter((n) => n.startsWith('user.')),
    ).toEqual(['user.empty']);
    expect(x('rm', f, 'user.empty').status).toBe(0);
  });

  it('prints values up to 4096 bytes and name lists up to 8192, and answers ERANGE past them', () => {
    const f = path.join(dir, 'big.txt');
    fs.writeFileSync(f, '');
    const value = 'v'.repeat(4096);
    expect(x('set', f, 'user.big', value).status).toBe(0);
    expect(x('get', f, 'user.big')).toEqual({ status: 0, stdout: `${value}\n`, stderr: '' });
    expect(x('set', f, 'user.big', `${value}w`).status).toBe(0);
    expect(hostXattr(tool, f, 'user.big')).toBe(`${value}w`);
    expect(x('get', f, 'user.big')).toEqual(failed('xattr: get: ERANGE'));
    expect(x('rm', f, 'user.big').status).toBe(0);
    // 40 names of 201 bytes with their NULs: 8040 bytes listed, then one more is 8241.
    const name = (i: number) => `user.${String(i).padStart(2, '0')}${'n'.repeat(193)}`;
    for (let i = 0; i < 40; i++) expect(x('set', f, name(i), '').status).toBe(0);
    const list = x('list', f);
    expect(list.status).toBe(0);
    expect(list.stdout.split('\n').filter((n) => n.startsWith('user.'))).toHaveLength(40);
    expect(x('set', f, name(40), '').status).toBe(0);
    expect(x('list', f)).toEqual(failed('xattr: list: ERANGE'));
  });

  it('names the errno of a failed call, exits 1, and exits 2 on a usage error', () => {
    const f = path.join(dir, 'err.txt');
    fs.writeFileSync(f, '');
    const missing = path.join(dir, 'missing');
    expect(x('get', missing, 'user.a')).toEqual(failed('xattr: get: ENOENT'));
    expect(x('set', missing, 'user.a', 'b')).toEqual(failed('xattr: set: ENOENT'));
    expect(x('list', missing)).toEqual(failed('xattr: list: ENOENT'));
    expect(x('rm', missing, 'user.a')).toEqual(failed('xattr: rm: ENOENT'));
    // No such namespace; user.* only on regular files and directories (xattr_permission()).
    expect(x('set', f, 'vmm.a', 'b')).toEqual(failed('xattr: set: EOPNOTSUPP'));
    expect(x('set', '/dev/null', 'user.a', 'b')).toEqual(failed('xattr: set: EPERM'));
    // XATTR_SIZE_MAX is 65536; XATTR_NAME_MAX 255.
    expect(x('set', f, 'user.a', 'v'.repeat(65537))).toEqual(failed('xattr: set: E2BIG'));
    expect(x('set', f, `user.${'n'.repeat(251)}`, 'b')).toEqual(failed('xattr: set: ERANGE'));
    // An errno without a name in the tool's table: ENOTDIR, in decimal.
    expect(x('get', path.join(f, 'below'), 'user.a')).toEqual(failed('xattr: get: errno 20'));
    for (const args of [
      [],
      ['get', f],
      ['set', f, 'user.a'],
      ['list'],
      ['list', f, 'x'],
      ['rm', f],
      ['cat', f],
    ]) {
      const r = x(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^usage: xattr set PATH NAME VALUE\n/);
    }
  });
});
