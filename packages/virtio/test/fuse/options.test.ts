// Tier 3: the server's options through /dev/fuse with real tools: readonly refuses every change
// with EROFS (the mount itself is read-write, so each refusal is the server's); a server run by an
// unprivileged host user with a uid/gid map; cache=never shows host changes at once; the /dev/fuse
// loop's busy-poll window catches a busy client's requests and lets an idle mount sleep; READ
// and WRITE data spliced between the file and /dev/fuse are the same bytes as copied ones.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_FUSE_POLL_US, serveFuseDevice } from '../../src/fs/dev-fuse';
import { FuseServer } from '../../src/fs/server';
import { canRun, cpuSeconds, makeDirs, mount, snapshot, type Dirs } from './harness';

const why = canRun();
if (why) console.warn(`SKIP (${why}): FUSE server options through /dev/fuse`);

const cleanup: Dirs[] = [];
afterAll(() => {
  for (const d of cleanup) fs.rmSync(d.base, { recursive: true, force: true });
});

function dirsWithFiles(): Dirs {
  const d = makeDirs('vmm-fuse-opt-');
  cleanup.push(d);
  fs.writeFileSync(path.join(d.share, 'f'), 'data\n');
  fs.mkdirSync(path.join(d.share, 'sub'));
  fs.writeFileSync(path.join(d.share, 'sub/g'), 'more\n');
  return d;
}

describe.skipIf(why !== undefined)('FUSE server options through /dev/fuse', () => {
  it('readonly: reads work, every change fails with EROFS, the share is untouched', async () => {
    const d = dirsWithFiles();
    const before = snapshot(d.share);
    const m = await mount(d, { readonly: true });
    try {
      expect((await m.sh('cat f sub/g')).stdout).toBe('data\nmore\n');
      const changes = [
        'touch new',
        'echo x >> f',
        'echo x > f',
        'mkdir dir',
        'rm f',
        'rmdir sub',
        'mv f g',
        'chmod 600 f',
        'ln -s f s',
        'ln f hard',
        'truncate -s 0 f',
        'mkfifo p',
        'fallocate -l 4096 f',
        'touch -d 2001-01-01 f',
        'cp f sub/copy',
      ];
      if (fs.existsSync('/usr/bin/setfattr')) changes.push('setfattr -n user.x -v 1 f');
      for (const c of changes) {
        const r = await m.sh(c);
        expect(r.code, c).not.toBe(0);
        expect(r.stderr, c).toMatch(/Read-only file system/);
      }
    } finally {
      const exit = await m.stop();
      expect(exit.server.internalErrors).toBe(0);
    }
    expect(snapshot(d.share)).toBe(before);
  });

  it('an unprivileged server with a uid/gid map: ids shown mapped, new files owned by it, unmapped ids refused', async () => {
    const d = dirsWithFiles();
    const HOST = 23456; // no such user: just a number
    for (const p of ['', 'f', 'sub', 'sub/g']) fs.chownSync(path.join(d.share, p), HOST, HOST);
    fs.writeFileSync(path.join(d.share, 'rootfile'), 'r'); // owned by host root: unmapped
    const map = [{ guest: 0, host: HOST, count: 1 }];
    const m = await mount(d, { uidMap: map, gidMap: map }, { RUN_AS: `${HOST}:${HOST}` });
    try {
      expect(fs.readFileSync(`/proc/${m.pid}/status`, 'utf8')).toMatch(
        new RegExp(`^Uid:\\s+${HOST}\\s`, 'm'),
      );
      expect((await m.sh('stat -c %u:%g f sub rootfile')).stdout).toBe('0:0\n0:0\n65534:65534\n');
      const made = await m.sh(
        'echo new > made && mkdir madedir && ln -s made madelink && stat -c %u:%g made',
      );
      expect(made.stderr).toBe('');
      expect(made.stdout).toBe('0:0\n');
      for (const p of ['made', 'madedir', 'madelink']) {
        const st = fs.lstatSync(path.join(d.share, p));
        expect([st.uid, st.gid], p).toEqual([HOST, HOST]);
      }
      const chown = await m.sh('chown 5 made');
      expect(chown.stderr).toMatch(/Operation not permitted/);
      expect((await m.sh('chown 0:0 made && echo ok')).stdout).toBe('ok\n');
      expect((await m.sh('cat f && ln made hard && cat hard')).stdout).toBe('data\nnew\n');
    } finally {
      const exit = await m.stop();
      expect(exit.server.internalErrors).toBe(0);
    }
  });

  it('cache=never: a change made on the host is seen at once', async () => {
    const d = dirsWithFiles();
    const m = await mount(d, { cache: 'never' });
    try {
      expect((await m.sh('cat f && ls sub')).stdout).toBe('data\ng\n');
      fs.writeFileSync(path.join(d.share, 'f'), 'changed on the host\n');
      fs.writeFileSync(path.join(d.share, 'sub/h'), '');
      fs.renameSync(path.join(d.share, 'sub/g'), path.join(d.share, 'sub/g2'));
      expect((await m.sh('cat f && ls sub')).stdout).toBe('changed on the host\ng2\nh\n');
      expect((await m.sh('stat -c %s f')).stdout).toBe('20\n');
    } finally {
      const exit = await m.stop();
      expect(exit.server.internalErrors).toBe(0);
    }
  });

  it("pollUs: a busy client's requests are read while polling, with the same results; an idle mount sleeps", async () => {
    const d = dirsWithFiles();
    // The most window there is: whatever this host's pace between one process's system calls,
    // the window grows to catch the next request.
    const m = await mount(d, { pollUs: MAX_FUSE_POLL_US });
    try {
      const script =
        "const fs = require('fs'); fs.mkdirSync('many');" +
        "for (let i = 0; i < 300; i++) fs.writeFileSync('many/f' + i, String(i));" +
        "let sum = 0; for (let i = 0; i < 300; i++) sum += Number(fs.readFileSync('many/f' + i, 'utf8'));" +
        "for (let i = 0; i < 300; i++) fs.unlinkSync('many/f' + i);" +
        "fs.rmdirSync('many'); console.log(sum);";
      const r = await m.sh(`${process.execPath} -e ${JSON.stringify(script)}`, 120_000);
      expect(r.stdout, r.stderr).toBe(`${(299 * 300) / 2}\n`);
      expect(fs.existsSync(path.join(d.share, 'many'))).toBe(false);
      // Idle: at most one window (100 ms) of polling after the last request, then poll(2) sleeps.
      await new Promise((res) => setTimeout(res, 300));
      const before = cpuSeconds(m.pid);
      await new Promise((res) => setTimeout(res, 2000));
      expect(cpuSeconds(m.pid) - before, 'CPU seconds of an idle polling server in 2 s').toBeLessThan(0.5);
    } finally {
      const exit = await m.stop();
      expect(exit.server.internalErrors).toBe(0);
      // Most requests were there when the loop polled: it did not sleep before them.
      expect(exit.device.polled).toBeGreaterThan(exit.device.requests / 2);
    }
  });

  it('splice: READs spliced from the file and WRITEs into it match the host byte for byte (sizes, ends, holes, offsets); splice off copies', async () => {
    const d = dirsWithFiles();
    const sha = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');
    const want = new Map<string, string>();
    for (const [name, size] of [
      ['small', 5000],
      ['mid', 100_003],
      ['big', (3 << 20) + 777],
    ] as const) {
      const b = crypto.randomBytes(size);
      fs.writeFileSync(path.join(d.share, name), b);
      want.set(name, sha(b));
    }
    const sparse = path.join(d.share, 'sparse'); // data at 1 MiB and 7 MiB, holes around it
    const fd = fs.openSync(sparse, 'w');
    fs.writeSync(fd, crypto.randomBytes(200_000), 0, 200_000, 1 << 20);
    fs.writeSync(fd, crypto.randomBytes(5000), 0, 5000, 7 << 20);
    fs.ftruncateSync(fd, 8 << 20);
    fs.closeSync(fd);
    want.set('sparse', sha(fs.readFileSync(sparse)));
    const piece = sha(fs.readFileSync(path.join(d.share, 'big')).subarray(17 * 4096, 117 * 4096));
    const src = path.join(d.base, 'src.bin'); // written in through the mount
    fs.writeFileSync(src, crypto.randomBytes((5 << 20) + 4321));
    const srcSha = sha(fs.readFileSync(src));
    for (const splice of [true, false]) {
      const m = await mount(d, { splice });
      try {
        const r = await m.sh(
          `sha256sum ${[...want.keys()].join(' ')} && dd if=big bs=4096 skip=17 count=100 2>/dev/null | sha256sum` +
            ` && dd if=${src} of=w.bin bs=1M 2>/dev/null && dd if=${src} of=w.bin bs=100000 seek=1 conv=notrunc 2>/dev/null`,
        );
        const lines = r.stdout.trim().split('\n');
        expect(lines.length, r.stderr).toBe(want.size + 1);
        for (const [i, name] of [...want.keys()].entries())
          expect(lines[i], name).toBe(`${want.get(name)}  ${name}`);
        expect(lines[want.size]!.split(' ')[0]).toBe(piece);
        // The second dd rewrote it from byte 100 000 on, unaligned: the same bytes, shifted.
        const w = fs.readFileSync(path.join(d.share, 'w.bin'));
        const s0 = fs.readFileSync(src);
        expect(w.length).toBe(100_000 + s0.length);
        expect(sha(w.subarray(0, 100_000))).toBe(sha(s0.subarray(0, 100_000)));
        expect(sha(w.subarray(100_000))).toBe(srcSha);
        fs.rmSync(path.join(d.share, 'w.bin'));
      } finally {
        const exit = await m.stop();
        expect(exit.server.internalErrors).toBe(0);
        expect(exit.device.spliceFellBack).toBe(0);
        if (splice) {
          expect(exit.device.spliced).toBeGreaterThan(20);
          expect(exit.device.splicedWrites).toBeGreaterThan(20);
        } else expect(exit.device.spliced + exit.device.splicedWrites).toBe(0);
      }
    }
  });

  it('pollUs: a poll window that is not a whole number from 0 to 100000 µs is refused before serving', () => {
    const d = makeDirs('vmm-fuse-poll-');
    cleanup.push(d);
    const server = new FuseServer({ root: d.share });
    try {
      for (const pollUs of [-1, 0.5, MAX_FUSE_POLL_US + 1])
        expect(() => serveFuseDevice(-1, server, { pollUs })).toThrow(RangeError);
    } finally {
      server.close();
    }
  });
});
