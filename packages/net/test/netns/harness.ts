// Tier-3 harness: network namespaces made by the test, `vmm nat` run on them as a child process
// (from sources, through tsx), commands run inside with `ip netns exec`. Root and /dev/net/tun
// are required; `canRun()` says whether they are here.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const root = path.resolve(import.meta.dirname, '../../../..');

export function canRun(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  if (!fs.existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  for (const tool of ['/usr/sbin/ip', '/usr/bin/nsenter', '/usr/bin/busybox'])
    if (!fs.existsSync(tool)) return `no ${tool}`;
  return undefined;
}

let counter = 0;

export async function createNetns(): Promise<string> {
  const name = `vmmnet-${process.pid}-${counter++}`;
  await run('ip', ['netns', 'add', name]);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export async function deleteNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'del', name]).catch(() => undefined);
}

export interface Nat {
  child: ChildProcess;
  pid: number;
  output: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<number | null>;
}

/** Starts `vmm nat --netns /var/run/netns/NAME ...args` and waits for its "serving" line. */
export async function startNat(netns: string, args: string[]): Promise<Nat> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(root, 'packages/cli/src/bin.ts'),
      'nat',
      '--netns',
      `/var/run/netns/${netns}`,
      ...args,
    ],
    {
      cwd: root,
      env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'packages/cli/tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`vmm nat did not start in 20 s:\n${out}`)), 20_000);
    const check = () => {
      if (out.includes('vmm nat: serving')) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`vmm nat exited (${code}) before serving:\n${out}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs a command inside the namespace; resolves with stdout, rejects with stderr on failure. */
export async function inNs(netns: string, cmd: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', netns, ...cmd], {
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
    encoding: 'utf8',
  });
  return stdout;
}

/** Resident set size of a process in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** A deterministic pseudo-random payload (xorshift32), so its hash is reproducible. */
export function payload(bytes: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  let x = 0x12345678;
  for (let i = 0; i + 4 <= bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  b.fill(7, bytes & ~3);
  return b;
}
