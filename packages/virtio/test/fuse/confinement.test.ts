// Tier 3: the share's confinement through /dev/fuse, with the kernel's FUSE client as the guest.
// The guest is a static busybox chrooted into the mount, so it sees the share as "/" exactly as a
// Linux guest of virtio-fs does: absolute symlinks and ".." resolve against the share. Every escape
// it tries (".." at the root, absolute and relative symlinks pointing outside, hard links, a
// directory swapped for a symlink to outside while it loops renaming in it) must fail, and the
// host must show that nothing outside the share was written (a snapshot of every path, mode,
// size, link count, mtime, ctime and content), read (the secret never reaches the guest) or held
// open by the server (the targets of its fds, sampled throughout).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRun, installBusybox, makeDirs, mount, snapshot, type Dirs, type Mounted } from './harness';

const why = canRun();
const noBusybox = !fs.existsSync('/usr/bin/busybox');
if (why) console.warn(`SKIP (${why}): FUSE confinement through /dev/fuse`);
else if (noBusybox)
  console.warn('SKIP (no /usr/bin/busybox: apt-get install busybox-static): FUSE confinement');

const SECRET = 'SECRET-0xC0FFEE-outside-the-share';

describe.skipIf(why !== undefined || noBusybox)('FUSE confinement through /dev/fuse (cache=always)', () => {
  let dirs: Dirs;
  let m: Mounted;
  let before: string;
  /** Everything the guest printed, to prove the secret never reached it. */
  let seen = '';
  const guest = async (script: string, timeoutMs?: number) => {
    const r = await m.guest(script, timeoutMs);
    seen += r.stdout + r.stderr;
    return r;
  };
  /** The server's fds that lead outside the share (none, ever). */
  const fdsOutside = (g: Mounted = m) => g.fdTargets().filter((t) => t.startsWith(dirs.outside));
  const noFdOutside = (g: Mounted = m) => expect(fdsOutside(g)).toEqual([]);

  beforeAll(async () => {
    dirs = makeDirs('vmm-fuse-jail-');
    const out = dirs.outside;
    fs.writeFileSync(path.join(out, 'secret'), SECRET);
    fs.mkdirSync(path.join(out, 'sub'));
    fs.writeFileSync(path.join(out, 'sub/file'), SECRET);
    installBusybox(dirs.share);
    const s = dirs.share;
    fs.symlinkSync(path.join(out, 'secret'), path.join(s, 'abs'));
    fs.symlinkSync(out, path.join(s, 'absdir'));
    // More ".." than the share is deep: on the host this climbs to /, in the guest it stops at "/".
    const up = '../'.repeat(s.split('/').length + 2);
    fs.symlinkSync(`${up}${out.slice(1)}/secret`, path.join(s, 'rel'));
    fs.symlinkSync('../outside', path.join(s, 'reldir'));
    fs.mkdirSync(path.join(s, 'd'));
    fs.writeFileSync(path.join(s, 'd/a'), 'inside');
    before = snapshot(out);
    m = await mount(dirs, { cache: 'always' });
  });

  afterAll(async () => {
    if (m) {
      const exit = await m.stop();
      expect(exit.server.internalErrors).toBe(0);
    }
    if (dirs) {
      expect(snapshot(dirs.outside)).toBe(before);
      expect(seen).not.toContain(SECRET);
      fs.rmSync(dirs.base, { recursive: true, force: true });
    }
  });

  it('the guest sees the share as its root: ".." at the root stays there', async () => {
    const r = await guest(
      `cd /.. && ls && cd /../../.. && pwd && ls /.. && cat /../outside/secret /../../${dirs.outside}/secret`,
    );
    expect(r.stdout).toContain('absdir');
    expect(r.stdout).toMatch(/^\/$/m);
    expect(r.stderr).toMatch(/No such file/);
    expect(r.code).not.toBe(0);
  });

  it('absolute and relative symlinks to outside resolve inside the share, to nothing', async () => {
    for (const p of [
      '/abs',
      '/rel',
      '/absdir/secret',
      '/reldir/secret',
      '/absdir/sub/file',
      '/reldir/sub/file',
    ]) {
      const r = await guest(`cat ${p}`);
      expect(r.code, p).not.toBe(0);
      expect(r.stderr, p).toMatch(/No such file or directory/);
    }
    expect((await guest('ls /absdir /reldir')).code).not.toBe(0);
    // What the links say is the guest's to read; where they lead is the guest's own "/".
    expect((await guest('readlink /abs')).stdout.trim()).toBe(path.join(dirs.outside, 'secret'));
    noFdOutside();
  });

  it('writes through symlinks to outside fail; a hard link of a symlink is a link to the symlink', async () => {
    const attempts = [
      'echo pwned > /abs',
      'echo pwned >> /rel',
      'echo pwned > /absdir/new',
      'echo pwned > /reldir/new',
      'mkdir /absdir/x',
      'cp /bin/busybox /reldir/',
      'mv /d/a /absdir/a',
      'ln /d/a /absdir/hard',
    ];
    for (const a of attempts) expect((await guest(a)).code, a).not.toBe(0);
    expect(fs.readFileSync(path.join(dirs.share, 'd/a'), 'utf8')).toBe('inside');
    // ln on a symlink links the symlink itself (the server never follows one): the secret keeps
    // its one link, and the new name is a symlink in the share.
    await guest('ln /abs /hl');
    expect(fs.lstatSync(path.join(dirs.share, 'hl')).isSymbolicLink()).toBe(true);
    expect(fs.statSync(path.join(dirs.outside, 'secret')).nlink).toBe(1);
    noFdOutside();
  });

  /**
   * The host flips share/d between the real directory and a symlink to outside (absolute, then
   * relative) as fast as it can, while the guest renames, appends, creates, reads and lists in /d.
   * With cache=always the guest keeps using the node it looked up (the real directory, by fd);
   * with cache=never it looks "d" up again each time and meets the symlinks too.
   */
  async function race(g: Mounted): Promise<void> {
    const share = dirs.share;
    // The flipper ends a round with the real directory at d, and ends once this file is there.
    const stop = path.join(dirs.base, 'stop-flipping');
    fs.rmSync(stop, { force: true });
    const flipper = spawn(
      'sh',
      [
        '-c',
        `cd ${JSON.stringify(share)}; while [ ! -e ${JSON.stringify(stop)} ]; do
           mv d d.real; ln -s ${JSON.stringify(dirs.outside)} d; mv d d.sym; mv d.real d; rm d.sym
           mv d d.real; ln -s ../outside d; rm d; mv d.real d
         done`,
      ],
      { stdio: 'ignore' },
    );
    const flipped = new Promise((resolve) => flipper.once('exit', resolve));
    const leaks: string[] = [];
    const sampler = setInterval(() => leaks.push(...fdsOutside(g)), 20);
    // At least 4 s, and on (up to 30 s) until a rename has met the real directory: under load,
    // the 60 rounds of a cache=never run once all met a symlink.
    const r = await g.guest(
      `exec 2>/errs; ok=0; fail=0; i=0; end=$(($(date +%s) + 4)); hard=$(($(date +%s) + 30))
       while [ $(date +%s) -lt $end ] || { [ $ok -eq 0 ] && [ $(date +%s) -lt $hard ]; }; do
         if mv /d/a /d/b && mv /d/b /d/a; then ok=$((ok+1)); else fail=$((fail+1)); fi
         echo $i >> /d/a; echo $i > /d/n$i; cat /d/a /d/secret /d/sub/file | tail -c 40; ls /d > /sink
         i=$((i+1))
       done; echo "done $i renamed=$ok failed=$fail"`,
      120_000,
    );
    seen += r.stdout + r.stderr;
    clearInterval(sampler);
    fs.writeFileSync(stop, '');
    await flipped;
    expect(leaks).toEqual([]);
    const m = /done (\d+) renamed=(\d+) failed=(\d+)/.exec(r.stdout);
    expect(m, r.stdout.slice(-500)).not.toBeNull();
    console.log(`race (${g.dirs.mnt}): guest ${m![0]}, ${leaks.length} fds outside`);
    expect(Number(m![1])).toBeGreaterThan(20);
    expect(Number(m![2])).toBeGreaterThan(0);
    noFdOutside(g);
    // What the guest wrote is all in the share, in the real directory; outside has what it had.
    const made = fs.readdirSync(path.join(share, 'd')).filter((n) => /^n\d+$/.test(n));
    expect(made.length).toBeGreaterThan(0);
    expect(fs.readdirSync(dirs.outside).sort()).toEqual(['secret', 'sub']);
  }

  it('a directory swapped for a symlink to outside while the guest loops renaming in it (cache=always)', async () => {
    await race(m);
  }, 180_000);

  it('the same race with cache=never (every name looked up again)', async () => {
    const mnt2 = path.join(dirs.base, 'mnt-never');
    fs.mkdirSync(mnt2);
    const g = await mount({ ...dirs, mnt: mnt2 }, { cache: 'never' });
    try {
      await race(g);
    } finally {
      const exit = await g.stop();
      expect(exit.server.internalErrors).toBe(0);
    }
  }, 180_000);
});
