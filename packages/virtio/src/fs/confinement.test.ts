// Confinement at the request level, deterministic: what the server does with symlinks (never
// follows one, whatever request names it), with ".." (never a name), and with a directory the host
// swaps for a symlink to outside after the guest looked it up (the node is the directory itself,
// by fd: what the guest does in it lands in the real directory, wherever it has moved in the share).
// test/fuse/confinement.test.ts runs the same escapes through /dev/fuse with the kernel as guest.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, direntsOf, entryOf, fhOf, req } from '../../test/fuse/requests';
import * as E from './errno';
import { FuseServer } from './server';

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CREAT = 0o100;
const enc = new TextEncoder();

let base: string;
let share: string;
let outside: string;
let s: FuseServer;
let before: string;

/** Every path outside the share with its size, mode, mtime and content. */
function outsideState(): string {
  return fs
    .readdirSync(outside, { recursive: true })
    .map(String)
    .sort()
    .map((p) => {
      const st = fs.lstatSync(path.join(outside, p));
      return `${p} ${st.mode} ${st.size} ${st.nlink} ${st.mtimeMs} ${st.isFile() ? fs.readFileSync(path.join(outside, p), 'utf8') : ''}`;
    })
    .join('\n');
}

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'fuse-jail-'));
  share = path.join(base, 'share');
  outside = path.join(base, 'outside');
  fs.mkdirSync(share);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'SECRET');
  fs.mkdirSync(path.join(outside, 'sub'));
  fs.symlinkSync(path.join(outside, 'secret'), path.join(share, 'abs'));
  fs.symlinkSync('../outside/secret', path.join(share, 'rel'));
  fs.symlinkSync(outside, path.join(share, 'absdir'));
  fs.symlinkSync('../outside', path.join(share, 'reldir'));
  fs.mkdirSync(path.join(share, 'd'));
  before = outsideState();
  s = new FuseServer({ root: share });
  call(s, req.init());
});

afterEach(() => {
  expect(s.stats.internalErrors).toBe(0);
  // Nothing the server holds is outside the share.
  for (const fd of s.heldFds()) expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).not.toMatch(/\/outside(\/|$)/);
  s.close();
  expect(outsideState()).toBe(before);
  fs.rmSync(base, { recursive: true, force: true });
});

describe('symlinks are never followed by the server', () => {
  it('LOOKUP of a symlink gives the symlink; it cannot be opened, listed or looked into', () => {
    for (const name of ['abs', 'rel', 'absdir', 'reldir']) {
      const l = entryOf(call(s, req.lookup(1, name)));
      expect(l.mode & 0o170000, name).toBe(0o120000);
      expect(call(s, req.open(l.nodeid, O_RDONLY)).errno, name).toBe(E.EACCES);
      expect(call(s, req.opendir(l.nodeid)).errno, name).toBe(E.ENOTDIR);
      expect(call(s, req.lookup(l.nodeid, 'secret')).errno, name).toBe(E.ENOTDIR);
      expect(call(s, req.create(l.nodeid, 'new', O_CREAT | O_WRONLY)).errno, name).toBe(E.ENOTDIR);
      expect(call(s, req.mkdir(l.nodeid, 'new')).errno, name).toBe(E.ENOTDIR);
      expect(call(s, req.setattr(l.nodeid, { size: 0 })).errno, name).toBe(E.EINVAL);
      expect(call(s, req.setattr(l.nodeid, { mode: 0o777 })).errno, name).toBe(E.EOPNOTSUPP);
    }
  });

  it("CREATE, MKNOD, MKDIR and SYMLINK on a symlink's name do not write through it", () => {
    expect(call(s, req.create(1, 'abs', O_CREAT | O_WRONLY)).errno).toBe(E.ELOOP);
    expect(call(s, req.create(1, 'rel', O_CREAT | O_WRONLY)).errno).toBe(E.ELOOP);
    expect(call(s, req.mknod(1, 'abs', 0o100644)).errno).toBe(E.EEXIST);
    expect(call(s, req.mkdir(1, 'absdir')).errno).toBe(E.EEXIST);
    expect(call(s, req.symlink(1, 'reldir', 'x')).errno).toBe(E.EEXIST);
  });

  it('hard links, renames and removals act on the symlink itself', () => {
    const abs = entryOf(call(s, req.lookup(1, 'abs')));
    expect(entryOf(call(s, req.link(abs.nodeid, 1, 'hl'))).nodeid).toBe(abs.nodeid);
    expect(fs.lstatSync(path.join(share, 'hl')).isSymbolicLink()).toBe(true);
    expect(fs.statSync(path.join(outside, 'secret')).nlink).toBe(1);
    expect(call(s, req.rename(1, 'absdir', 1, 'moved')).errno).toBe(0);
    expect(fs.lstatSync(path.join(share, 'moved')).isSymbolicLink()).toBe(true);
    expect(call(s, req.unlink(1, 'moved')).errno).toBe(0);
    expect(call(s, req.rmdir(1, 'reldir')).errno).toBe(E.ENOTDIR);
    // xattrs of a symlink node are the symlink's (user.* is refused on symlinks by Linux).
    expect(call(s, req.setxattr(abs.nodeid, 'user.x', enc.encode('1'))).errno).toBe(E.EPERM);
  });

  it('".." is no name: not from the root, not from a directory, not as a rename target', () => {
    const d = entryOf(call(s, req.lookup(1, 'd')));
    for (const [node, name] of [
      [1, '..'],
      [d.nodeid, '..'],
      [1, '.'],
      [d.nodeid, '../..'],
    ] as const)
      expect(call(s, req.lookup(node, name)).errno).toBe(E.EINVAL);
    expect(call(s, req.rename(d.nodeid, 'x', 1, '..')).errno).toBe(E.EINVAL);
    expect(call(s, req.symlink(d.nodeid, '..', '/')).errno).toBe(E.EINVAL);
  });
});

describe('a directory the host swaps for a symlink after the guest looked it up', () => {
  it('stays the real directory: creates, renames, writes, lists and lookups land there', () => {
    fs.writeFileSync(path.join(share, 'd/a'), 'inside');
    const d = entryOf(call(s, req.lookup(1, 'd')));
    // The host moves the directory and puts a symlink to outside in its place.
    fs.renameSync(path.join(share, 'd'), path.join(share, 'd.real'));
    fs.symlinkSync(outside, path.join(share, 'd'));
    const c = call(s, req.create(d.nodeid, 'new', O_CREAT | O_WRONLY));
    expect(c.errno).toBe(0);
    call(s, req.write(entryOf(c).nodeid, fhOf(c, true), 0, enc.encode('written')));
    expect(fs.readFileSync(path.join(share, 'd.real/new'), 'utf8')).toBe('written');
    expect(call(s, req.rename(d.nodeid, 'a', d.nodeid, 'b')).errno).toBe(0);
    expect(fs.readdirSync(path.join(share, 'd.real')).sort()).toEqual(['b', 'new']);
    expect(call(s, req.lookup(d.nodeid, 'secret')).errno).toBe(E.ENOENT);
    expect(call(s, req.mkdir(d.nodeid, 'sub')).errno).toBe(0);
    const fh = fhOf(call(s, req.opendir(d.nodeid)));
    const names = direntsOf(call(s, req.readdir(d.nodeid, fh, 0)))
      .map((e) => e.name)
      .sort();
    expect(names).toEqual(['.', '..', 'b', 'new', 'sub']);
    // A new lookup of "d" meets the symlink, and stops there.
    const now = entryOf(call(s, req.lookup(1, 'd')));
    expect(now.mode & 0o170000).toBe(0o120000);
    expect(call(s, req.lookup(now.nodeid, 'secret')).errno).toBe(E.ENOTDIR);
  });

  it('a file swapped for a symlink keeps its node: reads and writes go to the file, not the target', () => {
    fs.writeFileSync(path.join(share, 'f'), 'mine');
    const f = entryOf(call(s, req.lookup(1, 'f')));
    fs.renameSync(path.join(share, 'f'), path.join(share, 'f.real'));
    fs.symlinkSync(path.join(outside, 'secret'), path.join(share, 'f'));
    const fh = fhOf(call(s, req.open(f.nodeid, 2)));
    expect(new TextDecoder().decode(call(s, req.read(f.nodeid, fh, 0, 100)).body)).toBe('mine');
    call(s, req.write(f.nodeid, fh, 0, enc.encode('MINE')));
    expect(call(s, req.setattr(f.nodeid, { size: 2 })).errno).toBe(0);
    expect(call(s, req.setxattr(f.nodeid, 'user.k', enc.encode('v'))).errno).toBe(0);
    expect(fs.readFileSync(path.join(share, 'f.real'), 'utf8')).toBe('MI');
  });
});
