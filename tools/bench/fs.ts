// `pnpm bench fs`: the shared-directory server (@vmm/virtio's FuseServer) mounted on the host
// through /dev/fuse, beside bindfs (a FUSE passthrough file system, Debian package) mounted on the
// same directory in the same private mount namespace, with the same kernel as the client: a 1 GiB
// file written and read sequentially (dd, 1 MiB blocks), and 10 000 small files created, stat'ed and
// unlinked (one Node process, timed inside it). The runs alternate between the two; medians.
// Root only. BENCH_RUNS sets the runs (default 5); BENCH_FS_DIR the directory (default /dev/shm
// when it has room, so the host file system is RAM and what is measured is the FUSE path).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_FUSE_POLL_US } from '../../packages/virtio/src/fs/dev-fuse';
import { canRun, cpuSeconds, mount, type Mounted } from '../../packages/virtio/test/fuse/harness';
import { median } from './median';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const FILE_MIB = 1024;
const FILES = 10_000;
/** Writes, then reads, of the big file in each run; the run counts the fastest of each. */
const REPEATS = 3;

function benchDir(): string {
  if (process.env.BENCH_FS_DIR) return process.env.BENCH_FS_DIR;
  try {
    const st = fs.statfsSync('/dev/shm');
    if (st.bavail * st.bsize > 3 * 2 ** 30) return '/dev/shm';
  } catch {
    // no /dev/shm
  }
  return os.tmpdir();
}

/** Past both servers' 1 s entry and attribute timeouts, with room. */
const EXPIRE_MS = 1500;

/**
 * One Node process doing the small-file phases on `dir`; prints their seconds as JSON. Between
 * phases (untimed) it waits out the entries' timeouts, so that every stat and every unlink asks the
 * server again (LOOKUP) whichever server it is. Without the wait, how many did depended on how far
 * the create phase ran past 1 s, and the stat row followed the create row.
 */
const SMALL_FILES = `
const fs = require('node:fs'), path = require('node:path');
const [dir, n] = [process.argv[1], Number(process.argv[2])];
const expire = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${EXPIRE_MS});
fs.mkdirSync(dir);
const names = Array.from({ length: n }, (_, i) => path.join(dir, 'f' + i));
const t0 = performance.now();
for (const p of names) fs.closeSync(fs.openSync(p, 'wx'));
const t1 = performance.now();
expire();
const t2 = performance.now();
for (const p of names) fs.statSync(p);
const t3 = performance.now();
expire();
const t4 = performance.now();
for (const p of names) fs.unlinkSync(p);
const t5 = performance.now();
fs.rmdirSync(dir);
console.log(JSON.stringify({ create: (t1 - t0) / 1e3, stat: (t3 - t2) / 1e3, unlink: (t5 - t4) / 1e3 }));
`;

interface Marks {
  writeMBs: number[];
  readMBs: number[];
  filesPerS: number[];
  createPerS: number[];
  statPerS: number[];
  unlinkPerS: number[];
  /** The server process's CPU time (user + system) per file over the three small-file phases. */
  serverCpuUs: number[];
}

const marks = (): Marks => ({
  writeMBs: [],
  readMBs: [],
  filesPerS: [],
  createPerS: [],
  statPerS: [],
  unlinkPerS: [],
  serverCpuUs: [],
});

/** `s` as one sh word. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** dd's own count of seconds ("..., 1.2 s, ..."). */
function ddSeconds(out: string): number {
  const m = /copied, ([\d.]+) s/.exec(out);
  if (!m) throw new Error(`dd said: ${out}`);
  return Number(m[1]);
}

/** The fastest MB/s of REPEATS runs of `dd` (`args`) moving the big file through `mnt`. */
async function fastestDd(m: Mounted, mnt: string, what: string, args: string): Promise<number> {
  let best = 0;
  for (let i = 0; i < REPEATS; i++) {
    const r = await m.sh(`dd ${args} bs=1M 2>&1`, 600_000);
    if (r.code !== 0) throw new Error(`${what} through ${mnt}: ${r.stdout}${r.stderr}`);
    best = Math.max(best, (FILE_MIB * 2 ** 20) / 1e6 / ddSeconds(r.stdout));
  }
  return best;
}

async function runOnce(m: Mounted, mnt: string, server: number, into: Marks): Promise<void> {
  const file = path.join(mnt, 'bench-big.bin');
  // The fastest of REPEATS writes and of REPEATS reads: on these hosts (themselves VMs) the
  // kernel's copies into pages it has not touched lately stall at random, 2-5x, whichever server
  // runs (docs/benchmarks.md, "fs: ... the sequential read's spread"). Each write truncates the
  // file and each read opens it anew, so each goes to the server (no keep_cache on either).
  into.writeMBs.push(await fastestDd(m, mnt, 'write', `if=/dev/zero of=${file} count=${FILE_MIB}`));
  into.readMBs.push(await fastestDd(m, mnt, 'read', `if=${file} of=/dev/null`));
  await m.sh(`rm -f ${file}`);
  const cpu0 = cpuSeconds(server);
  const small = await m.sh(
    `${process.execPath} -e ${shellQuote(SMALL_FILES)} ${path.join(mnt, 'bench-small')} ${FILES}`,
    600_000,
  );
  if (small.code !== 0) throw new Error(`small files through ${mnt}: ${small.stderr}`);
  into.serverCpuUs.push(((cpuSeconds(server) - cpu0) * 1e6) / FILES);
  const t = JSON.parse(small.stdout) as { create: number; stat: number; unlink: number };
  into.filesPerS.push(FILES / (t.create + t.stat + t.unlink));
  into.createPerS.push(FILES / t.create);
  into.statPerS.push(FILES / t.stat);
  into.unlinkPerS.push(FILES / t.unlink);
}

export default async function fsBench(): Promise<string> {
  const why = canRun();
  if (why) throw new Error(`cannot run here: ${why}`);
  if (spawnSync('bindfs', ['--version']).status !== 0)
    throw new Error('bindfs is missing: apt-get install bindfs (the peer of this benchmark)');
  const where = benchDir();
  const base = fs.mkdtempSync(path.join(where, 'vmm-bench-fs-'));
  const dirs = {
    base,
    share: path.join(base, 'data'),
    outside: path.join(base, 'unused'),
    mnt: path.join(base, 'vmm'),
  };
  const bindMnt = path.join(base, 'bindfs');
  for (const d of [dirs.share, dirs.outside, dirs.mnt, bindMnt]) fs.mkdirSync(d);
  const fsType = execFileSync('stat', ['-f', '-c', '%T', base], { encoding: 'utf8' }).trim();
  const m = await mount(dirs, { cache: 'auto', pollUs: DEFAULT_FUSE_POLL_US, splice: true });
  const ours = marks();
  const peer = marks();
  try {
    // big_writes: libfuse 2 otherwise writes 4 KiB per request (64 MB/s here); the peer at its best.
    const b = await m.sh(`bindfs -o big_writes ${dirs.share} ${bindMnt}`);
    if (b.code !== 0) throw new Error(`bindfs failed: ${b.stderr}`);
    const bindPid = Number((await m.sh(`pgrep -n -x bindfs`)).stdout.trim());
    if (!(bindPid > 0)) throw new Error('bindfs is mounted but its process was not found');
    // One uncounted round each first: it warms our server's JIT, and it makes the host back the
    // 1 GiB of tmpfs pages once (the first writer otherwise pays every page's first touch, ~2x on a
    // PVM-guest host). Then the order alternates (ABBA), so neither always goes first.
    process.stderr.write('bench fs: warm-up round\n');
    await runOnce(m, dirs.mnt, m.pid, marks());
    await runOnce(m, bindMnt, bindPid, marks());
    for (let i = 0; i < RUNS; i++) {
      process.stderr.write(`bench fs: run ${i + 1}/${RUNS}\n`);
      if (i % 2 === 0) {
        await runOnce(m, dirs.mnt, m.pid, ours);
        await runOnce(m, bindMnt, bindPid, peer);
      } else {
        await runOnce(m, bindMnt, bindPid, peer);
        await runOnce(m, dirs.mnt, m.pid, ours);
      }
    }
    await m.sh(`umount ${bindMnt}`);
  } finally {
    const exit = await m.stop();
    if (exit.server.internalErrors)
      process.stderr.write(`bench fs: ${exit.server.internalErrors} internal errors\n`);
    fs.rmSync(base, { recursive: true, force: true });
  }
  const row = (what: string, a: number[], b: number[], digits = 0) => {
    const x = median(a);
    const y = median(b);
    return `| ${what} | ${x.toFixed(digits)} | ${y.toFixed(digits)} | ${(x / y).toFixed(2)} |`;
  };
  return [
    '| through /dev/fuse | vmm FuseServer | bindfs | vmm / bindfs (target ≥ 1.0) |',
    '|---|---|---|---|',
    row(`sequential write, ${FILE_MIB} MiB, 1 MiB blocks (MB/s)`, ours.writeMBs, peer.writeMBs),
    row(`sequential read, ${FILE_MIB} MiB, 1 MiB blocks (MB/s)`, ours.readMBs, peer.readMBs),
    row(`create + stat + unlink, ${FILES} files (files/s)`, ours.filesPerS, peer.filesPerS),
    row('— create (files/s)', ours.createPerS, peer.createPerS),
    row('— stat (files/s)', ours.statPerS, peer.statPerS),
    row('— unlink (files/s)', ours.unlinkPerS, peer.unlinkPerS),
    '',
    `The servers' CPU time (user + system) per file over the three small-file phases: vmm ${median(ours.serverCpuUs).toFixed(0)} µs, ` +
      `bindfs ${median(peer.serverCpuUs).toFixed(0)} µs (medians; it includes the ${EXPIRE_MS} ms waits between phases).`,
    '',
    `Median of ${RUNS} runs of each after an uncounted one, in alternating order (ABBA); both mounted on one ${fsType} directory (${where}) in one ` +
      'private mount namespace, the host kernel as the FUSE client. vmm: cache=auto (1 s entry and attribute ' +
      `timeouts, READDIRPLUS, max_write 128 KiB), one thread, the built server (@vmm/virtio/fs, as a VM's device thread runs it), ` +
      `its /dev/fuse loop busy-polling up to ${DEFAULT_FUSE_POLL_US} µs after each reply (adaptive; its default) and splicing READ and WRITE data ` +
      `between the file and /dev/fuse (one copy; its default), FUSE_HANDLE_KILLPRIV_V2 (no GETXATTR before each write). bindfs ${bindfsVersion()}: -o big_writes (libfuse 2 ` +
      'writes at most 128 KiB per request with it, 4 KiB without), otherwise its defaults (single-threaded, 1 s ' +
      'timeouts, default_permissions as ours). Write and read: dd, 1 MiB blocks, its own timing, the fastest of ' +
      `${REPEATS} writes and of ${REPEATS} reads in each run; small files: one Node ` +
      `process (openSync "wx" + closeSync, statSync, unlinkSync), timed inside it, waiting ${EXPIRE_MS} ms (untimed) ` +
      'between phases so that every stat and unlink looks its name up again.',
  ].join('\n');
}

function bindfsVersion(): string {
  const out = spawnSync('bindfs', ['--version'], { encoding: 'utf8' }).stdout;
  return /bindfs ([\d.]+)/.exec(out)?.[1] ?? '?';
}
