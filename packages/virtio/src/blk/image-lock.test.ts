// A disk image is locked while open: one writer and no reader beside it, or any number of readers
// (image-lock.ts). The real fcntl(2) locks of the host kernel, between images opened in this
// process and in another one (QEMU's locks are of the same kind).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openBlkImage, type BlkImage } from './image';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-blklock-'));
/** Every QEMU started here, so that one a failed check left running is killed too. */
const started = new Set<ChildProcess>();
afterAll(() => {
  for (const q of started) if (q.exitCode === null && q.signalCode === null) q.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

function image(name: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, Buffer.alloc(64 * 1024));
  return f;
}

const close = (...images: BlkImage[]) => images.forEach((i) => fs.closeSync(i.fd));

describe('disk image locks', () => {
  it('one writer: a second writer or a reader is refused until it closes', () => {
    const f = image('w.img');
    const a = openBlkImage(f, false);
    expect(a.lock).toBe('exclusive');
    expect(() => openBlkImage(f, false)).toThrow(
      expect.objectContaining({
        code: 'EBLKLOCKED',
        message: expect.stringMatching(/is in use: .*open for writing/),
      }),
    );
    expect(() => openBlkImage(f, true)).toThrow(/is in use: another VM or program has it open for writing/);
    close(a);
    const b = openBlkImage(f, false);
    expect(b.lock).toBe('exclusive');
    close(b);
  });

  it('readers share an image; a writer beside them is refused, told it could share read-only', () => {
    const f = image('r.img');
    const a = openBlkImage(f, true);
    const b = openBlkImage(f, true);
    expect([a.lock, b.lock]).toEqual(['shared', 'shared']);
    expect(() => openBlkImage(f, false)).toThrow(/open for reading .*give readonly=on here too/);
    close(a, b);
    close(openBlkImage(f, false));
  });

  it("holds against another process, and goes with that process's end", async () => {
    const f = image('p.img');
    // Another process that opens the image for writing and locks it as QEMU does (F_OFD_SETLK).
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const k = require('koffi'); const fs = require('fs');
         const fcntl = k.load('libc.so.6').func('int fcntl(int, int, void *)');
         const fd = fs.openSync(process.argv[1], 'r+'); const fl = Buffer.alloc(32); fl.writeInt16LE(1, 0);
         if (fcntl(fd, 37, fl) !== 0) process.exit(3);
         process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`,
        f,
      ],
      { cwd: path.resolve(import.meta.dirname, '../../../hypervisor'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
    });
    expect(() => openBlkImage(f, true)).toThrow(/is in use/);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    const img = openBlkImage(f, false);
    expect(img.lock).toBe('exclusive');
    close(img);
  });

  const hasQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
  if (!hasQemu) console.warn('SKIP (no qemu-system-x86_64): disk image locks against QEMU');
  it.skipIf(!hasQemu)(
    "against QEMU's own locks, both ways: a writer excludes everyone, readers share",
    async () => {
      const f = image('q.img');
      // A writer in QEMU: refuses our writer and our reader.
      let q = await qemuHolding(f, false);
      expect(() => openBlkImage(f, false)).toThrow(/is in use: .*open for writing/);
      expect(() => openBlkImage(f, true)).toThrow(/is in use: .*open for writing/);
      await stop(q);
      // A reader in QEMU: shares with our reader, refuses our writer.
      q = await qemuHolding(f, true);
      const reader = openBlkImage(f, true);
      expect(() => openBlkImage(f, false)).toThrow(/is in use: .*open for reading/);
      await stop(q);
      // Our reader keeps QEMU's writer out and lets its reader in.
      expect(await qemuRefused(f, false)).toMatch(/Failed to (get .*lock|lock byte)/);
      await stop(await qemuHolding(f, true));
      close(reader);
      // Our writer keeps out both.
      const writer = openBlkImage(f, false);
      expect(await qemuRefused(f, false)).toMatch(/Failed to (get .*lock|lock byte)/);
      expect(await qemuRefused(f, true)).toMatch(/Failed to (get .*lock|lock byte)/);
      close(writer);
    },
    60_000,
  );
});

/** QEMU (paused before its first instruction: no KVM needed) with `file` as a virtio disk. */
function qemu(file: string, readonly: boolean): ChildProcess {
  const q = spawn(
    'qemu-system-x86_64',
    [
      '-S',
      '-display',
      'none',
      '-monitor',
      'none',
      '-serial',
      'none',
      '-nodefaults',
      '-drive',
      `file=${file},format=raw,if=virtio${readonly ? ',readonly=on' : ''}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  started.add(q);
  return q;
}

/** Its locks on `file`, as /proc/locks lists them (OFD locks: pid -1). */
function locksOn(file: string): string[] {
  const ino = fs.statSync(file).ino;
  return fs
    .readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`:${ino} `));
}

/** QEMU started on `file`, once it holds its locks there. */
async function qemuHolding(file: string, readonly: boolean): Promise<ChildProcess> {
  const before = locksOn(file).length;
  const q = qemu(file, readonly);
  for (let i = 0; i < 300 && locksOn(file).length <= before; i++) {
    if (q.exitCode !== null) throw new Error(`QEMU exited ${q.exitCode} before it locked ${file}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(locksOn(file).length).toBeGreaterThan(before);
  // QEMU takes its byte locks one by one (the permissions it holds, then the ones it shares with
  // no one): wait until their number has held for 250 ms, or a check meets them half-taken (a
  // writer seen as a reader: on a quiet host, 2026-12-05).
  for (let n = locksOn(file).length, still = 0; still < 5;) {
    await new Promise((r) => setTimeout(r, 50));
    const now = locksOn(file).length;
    still = now === n ? still + 1 : 0;
    n = now;
  }
  return q;
}

/** What QEMU says when it cannot start on `file` (it must end by itself). */
async function qemuRefused(file: string, readonly: boolean): Promise<string> {
  const q = qemu(file, readonly);
  let err = '';
  q.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => q.kill('SIGKILL'), 20_000);
    q.once('exit', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  expect(code).not.toBe(0);
  return err;
}

async function stop(q: ChildProcess): Promise<void> {
  const gone = new Promise((r) => q.once('exit', r));
  q.kill('SIGKILL');
  await gone;
}
