// Tier 3: the FUSE server mounted on the host through /dev/fuse, the kernel's own FUSE client and
// ordinary tools (sh, cp, ln, chmod, truncate, fallocate, setfattr/getfattr, ls, sha256sum) as
// the guest; every result checked on the host's side of the share too.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRun, makeDirs, mount, type Dirs, type Mounted } from './harness';

const why = canRun();
const noAttr = !fs.existsSync('/usr/bin/setfattr') || !fs.existsSync('/usr/bin/getfattr');
if (why) console.warn(`SKIP (${why}): FUSE server through /dev/fuse (file operations)`);
else if (noAttr)
  console.warn('SKIP (no setfattr/getfattr: apt-get install attr): FUSE xattrs through /dev/fuse');

function sha256(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let n; (n = fs.readSync(fd, buf)) > 0;) h.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return h.digest('hex');
}

describe.skipIf(why !== undefined)('FUSE server through /dev/fuse: file operations with real tools', () => {
  let dirs: Dirs;
  let m: Mounted;
  const host = (p: string) => path.join(dirs.share, p);
  const ok = async (script: string, timeoutMs?: number) => {
    const r = await m.sh(`set -e; ${script}`, timeoutMs);
    expect(r.stderr + (r.code === 0 ? '' : `\n(exit ${r.code})`)).toBe('');
    return r.stdout;
  };

  beforeAll(async () => {
    dirs = makeDirs();
    m = await mount(dirs, { cache: 'auto' });
  });

  afterAll(async () => {
    if (m) {
      const exit = await m.stop();
      expect(exit.server.internalErrors).toBe(0);
      expect(exit.held.handles).toBe(0);
    }
    if (dirs) fs.rmSync(dirs.base, { recursive: true, force: true });
  });

  it('creates, writes, reads back, renames, hard-links and symlinks', async () => {
    expect(await ok('echo hello > a.txt && cat a.txt')).toBe('hello\n');
    expect(fs.readFileSync(host('a.txt'), 'utf8')).toBe('hello\n');
    expect(await ok('printf more >> a.txt && cat a.txt')).toBe('hello\nmore');
    await ok('mv a.txt b.txt && ln b.txt c.txt && ln -s b.txt s');
    expect(fs.existsSync(host('a.txt'))).toBe(false);
    expect(fs.statSync(host('c.txt')).ino).toBe(fs.statSync(host('b.txt')).ino);
    expect(fs.statSync(host('b.txt')).nlink).toBe(2);
    expect(fs.readlinkSync(host('s'))).toBe('b.txt');
    expect(await ok('stat -c %h b.txt && readlink s && cat s')).toBe('2\nb.txt\nhello\nmore');
    // The two names are one inode to the guest as well.
    expect(await ok('[ "$(stat -c %i b.txt)" = "$(stat -c %i c.txt)" ] && echo same')).toBe('same\n');
    await ok('rm c.txt s');
    expect(fs.readdirSync(dirs.share).sort()).toEqual(['b.txt']);
  });

  it('changes mode, truncates, allocates and punches holes; statfs answers', async () => {
    await ok('chmod 640 b.txt');
    expect(fs.statSync(host('b.txt')).mode & 0o7777).toBe(0o640);
    expect(await ok('stat -c %a b.txt')).toBe('640\n');
    await ok('truncate -s 10000 b.txt');
    expect(fs.statSync(host('b.txt')).size).toBe(10000);
    await ok('truncate -s 3 b.txt');
    expect(fs.readFileSync(host('b.txt'), 'utf8')).toBe('hel');
    await ok('fallocate -l 1048576 f.bin');
    const st = fs.statSync(host('f.bin'));
    expect(st.size).toBe(1048576);
    expect(st.blocks * 512).toBeGreaterThanOrEqual(1048576);
    await ok('fallocate -p -o 0 -l 524288 f.bin');
    const punched = fs.statSync(host('f.bin'));
    expect(punched.size).toBe(1048576);
    expect(punched.blocks * 512).toBeLessThanOrEqual(524288 + 65536);
    await ok('touch -d 2001-02-03T04:05:06Z b.txt');
    expect(fs.statSync(host('b.txt')).mtime.toISOString()).toBe('2001-02-03T04:05:06.000Z');
    const df = await ok('stat -f -c "%b %S" .');
    expect(Number(df.split(' ')[0])).toBeGreaterThan(0);
  });

  it.skipIf(noAttr)(
    'a write, truncate or chown without CAP_FSETID drops setuid/setgid; any write drops a file capability',
    async () => {
      // The kernel leaves these to the server (FUSE_HANDLE_KILLPRIV_V2) and says when in each request.
      const noFsetid = 'setpriv --inh-caps=-fsetid --bounding-set=-fsetid --';
      const mode = () => fs.statSync(host('kp')).mode & 0o7777;
      await ok('echo data > kp && chmod 6775 kp && echo root >> kp');
      expect(mode()).toBe(0o6775); // root keeps CAP_FSETID: the VFS keeps the bits
      await ok(`${noFsetid} sh -c 'echo nocap >> kp'`);
      expect(mode()).toBe(0o775);
      expect(fs.readFileSync(host('kp'), 'utf8')).toBe('data\nroot\nnocap\n');
      await ok(`chmod 6755 kp && ${noFsetid} truncate -s 3 kp`);
      expect(mode()).toBe(0o755);
      await ok(`chmod 6745 kp && ${noFsetid} sh -c 'echo x >> kp'`);
      expect(mode()).toBe(0o2745); // setgid without group execute marks locking, not privilege
      await ok(`chmod 4755 kp && ${noFsetid} chown 0:0 kp`);
      expect(mode()).toBe(0o755);
      expect(await ok('stat -c %a kp')).toBe('755\n');
      // security.capability (cap_net_raw+ep) set on the host goes with the next write, even root's.
      const cap = '0x0100000200200000000000000000000000000000';
      await ok(`setfattr -n security.capability -v ${cap} ${JSON.stringify(host('kp'))}`);
      expect(await ok('getfattr -n security.capability -e hex kp 2>&1 | grep ^security')).toBe(
        `security.capability=${cap}\n`,
      );
      await ok('echo more >> kp');
      const left = await m.sh(`getfattr -n security.capability ${JSON.stringify(host('kp'))}`);
      expect(left.stderr).toMatch(/No such attribute/);
      await ok('rm kp');
    },
  );

  it('sends no GETXATTR of security.capability before each write(2)', async () => {
    const d = makeDirs('vmm-fuse-kp-');
    const own = await mount(d, { cache: 'auto' });
    let exit;
    try {
      const r = await own.sh('echo 0 > f && for i in $(seq 300); do echo $i >> f; done && wc -l < f');
      expect(r.stdout.trim()).toBe('301');
    } finally {
      exit = await own.stop();
      fs.rmSync(d.base, { recursive: true, force: true });
    }
    // Each such GETXATTR is answered ENODATA, one of the server's errors: one per append without
    // FUSE_HANDLE_KILLPRIV_V2, at most one per inode with it.
    expect(exit.server.errors).toBeLessThan(30);
  });

  it.skipIf(noAttr)('sets, reads, lists and removes extended attributes', async () => {
    // A file of its own: the test runs alone too (-t).
    await ok('echo attributes > xa.txt');
    await ok('setfattr -n user.colour -v blue xa.txt && setfattr -n user.size -v 42 xa.txt');
    expect(await ok('getfattr --only-values -n user.colour xa.txt')).toBe('blue');
    expect(await ok('getfattr -d --absolute-names xa.txt | grep ^user | sort')).toBe(
      'user.colour="blue"\nuser.size="42"\n',
    );
    await ok('setfattr -x user.colour xa.txt');
    const r = await m.sh('getfattr -n user.colour xa.txt');
    expect(r.stderr).toMatch(/No such attribute/);
    // The host file carries what the guest set.
    const host = await m.sh(
      `getfattr --only-values -n user.size ${JSON.stringify(path.join(dirs.share, 'xa.txt'))}`,
    );
    expect(host.stdout).toBe('42');
  });

  it('makes and removes directories, FIFOs, refuses device nodes, honours mv -n (RENAME2)', async () => {
    await ok('mkdir -p d1/d2 && mkfifo d1/p && rmdir d1/d2');
    expect(fs.statSync(path.join(dirs.share, 'd1/p')).isFIFO()).toBe(true);
    const dev = await m.sh('mknod d1/null c 1 3');
    expect(dev.code).not.toBe(0);
    expect(dev.stderr).toMatch(/Operation not permitted/);
    expect(fs.existsSync(path.join(dirs.share, 'd1/null'))).toBe(false);
    await ok('echo one > d1/x && echo two > d1/y && mv -n d1/x d1/y; cat d1/y');
    expect(fs.readFileSync(path.join(dirs.share, 'd1/y'), 'utf8')).toBe('two\n');
    expect(fs.readFileSync(path.join(dirs.share, 'd1/x'), 'utf8')).toBe('one\n');
    await ok('rm -r d1');
    expect(fs.existsSync(path.join(dirs.share, 'd1'))).toBe(false);
  });

  it('lists 10 000 files made through the mount and 10 000 made on the host', async () => {
    // `: > f$i` is a shell builtin: 10 000 creates through FUSE without 10 000 processes.
    await ok('mkdir many && cd many && i=0; while [ $i -lt 10000 ]; do : > f$i; i=$((i+1)); done', 300_000);
    const names = Array.from({ length: 10000 }, (_, i) => `f${i}`).sort();
    expect(fs.readdirSync(host('many')).sort()).toEqual(names);
    expect((await ok('ls many')).trim().split('\n').sort()).toEqual(names);
    // Each inode the kernel caches is an fd in the server: removing them lets the kernel forget
    // them (FORGET), which keeps the two sets within this host's RLIMIT_NOFILE (20 000 here).
    await ok('rm -r many', 300_000);
    fs.mkdirSync(host('hostmany'));
    for (const n of names) fs.writeFileSync(path.join(host('hostmany'), n), n);
    const long = (await ok('ls -l hostmany | tail -n +2')).trim().split('\n');
    expect(long).toHaveLength(10000);
    expect(long.every((l) => /^-rw-r--r-- +1 /.test(l))).toBe(true);
    expect((await ok('ls -f hostmany | grep -v "^\\.\\.\\?$"')).trim().split('\n').sort()).toEqual(names);
    expect(await ok('cat hostmany/f9999')).toBe('f9999');
    await ok('rm -r hostmany', 300_000);
  }, 600_000);

  it('copies 200 MiB in and out with matching sha256', async () => {
    const src = path.join(dirs.base, 'src.bin');
    const back = path.join(dirs.base, 'back.bin');
    const chunk = crypto.randomBytes(1 << 20);
    const fd = fs.openSync(src, 'w');
    for (let i = 0; i < 200; i++) {
      chunk[i] = i; // each MiB different
      fs.writeSync(fd, chunk);
    }
    fs.closeSync(fd);
    const want = sha256(src);
    await ok(`cp ${src} big.bin`, 300_000);
    expect(sha256(host('big.bin'))).toBe(want);
    expect((await ok('sha256sum big.bin', 300_000)).split(' ')[0]).toBe(want);
    await ok(`cp big.bin ${back}`, 300_000);
    expect(sha256(back)).toBe(want);
    await ok('rm big.bin');
  }, 600_000);
});
