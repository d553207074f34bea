// The nested-KVM tier: on a host without a usable /dev/kvm, QEMU under TCG emulates an AMD-V CPU
// (`-cpu max`, with nested paging) and boots the test kernel (test-vms/kernel/config carries what
// this role needs), whose kvm_amd gives a real /dev/kvm. The host's root is its root (read-only 9p); the repository, the test-vms cache and an
// exchange folder are shared read-write at the same paths. test-vms/nested/init.sh runs a shell
// script there on the console and records its exit code. Everything inside, our monitor included,
// runs at TCG speed: slow, but the KVM it drives is the kernel's own.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir, testVmsRoot } from '../cache';
import { QEMU } from '../host-tools';
import { hostTscKhz } from '../kernel/cmdline';
import { buildKernel } from '../kernel/build';

export interface NestedRunOptions {
  /** The shell script to run inside, from the repository's root. */
  script: string;
  /** The repository shared read-write (default: this checkout). */
  repo?: string;
  /** Killed after this long (default 40 min). */
  timeoutMs?: number;
  /** Where the console goes (default: this process's stdout). */
  output?: (chunk: Buffer) => void;
  /** Guest RAM of the nested host in MiB (default 4096). */
  memoryMib?: number;
}

export interface NestedRunResult {
  /** The script's exit code, or null when it did not finish (timeout, crash of the VM). */
  code: number | null;
  seconds: number;
}

const INIT = path.join(testVmsRoot, 'nested/init.sh');

/** A 9p share of `dir` under `tag` (virtio 9p over virtio-mmio, which microvm supports). */
function share(tag: string, dir: string, readonly = false): string[] {
  const ro = readonly ? ',readonly=on' : '';
  return [
    '-fsdev',
    `local,id=${tag},path=${dir},security_model=none,multidevs=remap${ro}`,
    '-device',
    `virtio-9p-device,fsdev=${tag},mount_tag=${tag}`,
  ];
}

export async function runNested(opts: NestedRunOptions): Promise<NestedRunResult> {
  const kernel = await buildKernel();
  const repo = path.resolve(opts.repo ?? path.join(testVmsRoot, '..'));
  const cache = cacheDir();
  const xchg = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-nested-'));
  fs.writeFileSync(path.join(xchg, 'run.sh'), opts.script);
  const khz = hostTscKhz();
  // A path with a space would split the command line: refuse it plainly.
  for (const p of [repo, cache, xchg]) {
    if (/\s/.test(p)) throw new Error(`nested: ${p} has white space; the nested host cannot mount it`);
  }
  const append = [
    'console=ttyS0',
    // Errors only: guests' harmless MSR warnings from kvm_amd would interleave with test output.
    'loglevel=3',
    'panic=-1',
    // TCG's TSC cannot be calibrated against a PIT here either.
    ...(khz ? [`tsc_early_khz=${khz}`, 'tsc=reliable'] : []),
    'root=root',
    'rootfstype=9p',
    'rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose',
    'ro',
    `init=${INIT}`,
    `vmm.xchg=${xchg}`,
    `vmm.repo=${repo}`,
    `vmm.cache=${cache}`,
  ].join(' ');
  const args = [
    '-accel',
    'tcg',
    '-M',
    'microvm,acpi=on,rtc=on',
    '-cpu',
    'max',
    '-smp',
    String(Math.min(2, os.availableParallelism())),
    '-m',
    `${opts.memoryMib ?? 4096}M`,
    '-nographic',
    '-no-reboot',
    '-kernel',
    kernel.vmlinux,
    '-append',
    append,
    ...share('root', '/', true),
    ...share('xchg', xchg),
    ...share('repo', repo),
    ...share('cache', cache),
  ];
  const out = opts.output ?? ((b: Buffer) => process.stdout.write(b));
  const started = Date.now();
  const qemu = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  qemu.stdout.on('data', out);
  qemu.stderr.on('data', out);
  const timeoutMs = opts.timeoutMs ?? 2_400_000;
  const timer = setTimeout(() => {
    out(Buffer.from(`\nnested: no end after ${timeoutMs} ms; killing QEMU\n`));
    qemu.kill('SIGKILL');
  }, timeoutMs);
  await new Promise<void>((resolve) => {
    qemu.on('close', () => resolve());
    qemu.on('error', (e) => {
      out(Buffer.from(`nested: cannot start ${QEMU}: ${e.message}\n`));
      resolve();
    });
  });
  clearTimeout(timer);
  let code: number | null = null;
  try {
    code = Number.parseInt(fs.readFileSync(path.join(xchg, 'rc'), 'utf8'), 10);
  } catch {
    code = null;
  }
  fs.rmSync(xchg, { recursive: true, force: true });
  return { code: Number.isNaN(code) ? null : code, seconds: (Date.now() - started) / 1000 };
}
