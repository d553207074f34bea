// Tier-3 harness for the FUSE server: the kernel's own FUSE client is the guest. Each mount lives
// in a private mount namespace made for it (`unshare -m --propagation private`), served by its own
// process (serve.mjs: the built server with VMM_TEST_BUILT=1, else the sources through tsx)
// reading /dev/fuse; commands run inside that namespace with `nsenter -m`, either against the
// mount point with the host's tools or chrooted into the mount with a static busybox copied into
// the share, which then sees the share as "/" exactly as a guest does (absolute symlinks and ".."
// resolve against the share, not the host).
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FuseDeviceStats, FuseServeOptions } from '../../src/fs/dev-fuse';
import type { FuseServerOptions } from '../../src/fs/options';

export const root = path.resolve(import.meta.dirname, '../../../..');
const SERVE = path.join(import.meta.dirname, 'serve.mjs');
/** Node's arguments before the server's script: tsx only for the sources. */
const SERVE_NODE_ARGS = process.env.VMM_TEST_BUILT === '1' ? [] : ['--import', 'tsx'];
export const BUSYBOX = '/usr/bin/busybox';

/** Why the tier cannot run here, or undefined when it can. */
export function canRun(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (mount(2) of a FUSE file system needs CAP_SYS_ADMIN)';
  if (!fs.existsSync('/dev/fuse')) return 'no /dev/fuse';
  for (const tool of ['/usr/bin/unshare', '/usr/bin/nsenter'])
    if (!fs.existsSync(tool)) return `no ${tool} (util-linux)`;
  if (spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status !== 0)
    return 'unshare -m fails here (no CAP_SYS_ADMIN in this container?)';
  return undefined;
}

/** CPU seconds (user + system) process `pid` has used so far (/proc/PID/stat, USER_HZ ticks). */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm) ", which may itself hold spaces: state is [0], utime [11], stime [12].
  const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

export interface Dirs {
  base: string;
  /** The shared directory. */
  share: string;
  /** A sibling of the share the guest must never reach. */
  outside: string;
  /** Where the FUSE file system is mounted (inside the namespace only). */
  mnt: string;
}

export function makeDirs(prefix = 'vmm-fuse-'): Dirs {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const d = {
    base,
    share: path.join(base, 'share'),
    outside: path.join(base, 'outside'),
    mnt: path.join(base, 'mnt'),
  };
  for (const p of [d.share, d.outside, d.mnt]) fs.mkdirSync(p);
  return d;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ServerExit {
  device: FuseDeviceStats;
  server: {
    requests: number;
    errors: number;
    internalErrors: number;
    bytesRead: number;
    bytesWritten: number;
  };
  held: { nodes: number; handles: number };
}

export interface Mounted {
  pid: number;
  child: ChildProcess;
  dirs: Dirs;
  /** Runs `sh -c script` in the mount's namespace (cwd: the mount point). */
  sh(script: string, timeoutMs?: number): Promise<Run>;
  /** Runs `busybox sh -c script` chrooted into the mount: the share is "/". */
  guest(script: string, timeoutMs?: number): Promise<Run>;
  /** The host paths of every fd the server process holds (readlink of /proc/PID/fd/*). */
  fdTargets(): string[];
  /** Unmounts, waits for the server to finish, returns what it reported. */
  stop(): Promise<ServerExit>;
  output(): string;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { timeout: timeoutMs, maxBuffer: 256 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code as number | null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

/**
 * Starts a server on dirs.share mounted at dirs.mnt (options.pollUs: its /dev/fuse loop's, the
 * rest the server's); resolves once it serves. `prefix`: a command the server runs under
 * (`prlimit --nofile=512:512 --`), which ends with the command it runs.
 */
export async function mount(
  dirs: Dirs,
  options: Partial<FuseServerOptions> & FuseServeOptions = {},
  env: Record<string, string> = {},
  prefix: readonly string[] = [],
): Promise<Mounted> {
  const argv = [
    ...prefix,
    'unshare',
    '-m',
    '--propagation',
    'private',
    process.execPath,
    ...SERVE_NODE_ARGS,
    SERVE,
    dirs.share,
    dirs.mnt,
    JSON.stringify(options),
  ];
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`FUSE server did not start in 30 s:\n${out}`)), 30_000);
    const check = () => {
      const m = /serving (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`FUSE server exited (${code}) before serving:\n${out}`));
    });
  });
  const ns = ['-t', String(pid), '-m', '--'];
  return {
    pid,
    child,
    dirs,
    sh: (script, timeoutMs = 120_000) =>
      run('nsenter', [...ns, 'sh', '-c', `cd ${JSON.stringify(dirs.mnt)} && ${script}`], timeoutMs),
    guest: (script, timeoutMs = 120_000) =>
      run(
        'nsenter',
        [...ns, 'chroot', dirs.mnt, '/bin/busybox', 'env', 'PATH=/bin', 'sh', '-c', script],
        timeoutMs,
      ),
    fdTargets: () => {
      const dir = `/proc/${pid}/fd`;
      const targets: string[] = [];
      for (const fd of fs.readdirSync(dir)) {
        try {
          targets.push(fs.readlinkSync(path.join(dir, fd)));
        } catch {
          // closed meanwhile
        }
      }
      return targets;
    },
    stop: async () => {
      if (child.exitCode === null) {
        const r = await run('nsenter', [...ns, 'umount', dirs.mnt], 30_000);
        if (r.code !== 0) child.kill('SIGKILL');
      }
      await exited;
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (!line) throw new Error(`the FUSE server printed no stats:\n${out}`);
      return JSON.parse(line) as ServerExit;
    },
    output: () => out,
  };
}

/** Puts a static busybox and its applet links in share/bin, so `guest()` can run chrooted into the
 *  mount. */
export function installBusybox(share: string): void {
  const bin = path.join(share, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(bin, 'busybox'));
  fs.chmodSync(path.join(bin, 'busybox'), 0o755);
  const applets = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') fs.symlinkSync('busybox', path.join(bin, a));
}

/** A snapshot of a directory tree on the host: every path with its type, size, mode, mtime,
 *  ctime, link count and content hash, to prove nothing there changed. */
export function snapshot(dir: string): string {
  const lines: string[] = [];
  const walk = (p: string, rel: string) => {
    const st = fs.lstatSync(p);
    const what = st.isSymbolicLink()
      ? `-> ${fs.readlinkSync(p)}`
      : st.isFile()
        ? fs.readFileSync(p).toString('base64')
        : '';
    lines.push(`${rel} ${st.mode.toString(8)} ${st.size} ${st.nlink} ${st.mtimeMs} ${st.ctimeMs} ${what}`);
    if (st.isDirectory()) for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e), `${rel}/${e}`);
  };
  walk(dir, '.');
  return lines.join('\n');
}
