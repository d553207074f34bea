// Per-thread seccomp (--seccomp true|log|false): a filtered thread's call outside its allow-list
// kills the monitor (SIGSYS) or, with log, goes through and is logged by the kernel; the threads
// that run guest work (a disk's I/O thread) do everything they need inside
// theirs; and only the thread that installed a filter is filtered. Each case runs in a child
// process (support/seccomp-child.ts). The vCPU threads are filtered in every KVM tier's run.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTsxChild } from '../support/tsx-child';

const child = path.join(import.meta.dirname, '../support/seccomp-child.ts');
const canRun = process.platform === 'linux' && process.arch === 'x64';
if (!canRun)
  console.warn(
    `SKIP (seccomp filters are written for x86_64 Linux, this is ${process.platform}/${process.arch})`,
  );

function run(...args: string[]) {
  return runTsxChild(child, args, { timeoutMs: 60_000 });
}

/** The kernel's audit lines about seccomp for `pid`, where this host lets us read its log. */
function auditLines(pid: number): string[] | undefined {
  try {
    return execFileSync('dmesg', [], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('type=1326') && l.includes(` pid=${pid} `));
  } catch {
    return undefined;
  }
}

describe.skipIf(!canRun)('seccomp filters on the monitor’s threads', () => {
  it('on: a device thread opening a file for writing kills the monitor with SIGSYS; the main thread was not filtered before that', async () => {
    const r = await run('forbidden-open', 'on');
    expect(r.signal, r.err).toBe('SIGSYS');
    expect(r.out).not.toContain('survived');
  });

  it('on: glibc’s read-only open of /proc/sys/vm/overcommit_memory from a filtered thread (its malloc trimming an arena) gets EACCES and the monitor lives', async () => {
    const r = await run('read-only-open', 'on');
    expect(r.signal, r.err).toBeNull();
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('"result":"EACCES"');
  });

  it('on: a vCPU thread’s ioctl outside its list (TCGETS) kills the monitor', async () => {
    const r = await run('forbidden-ioctl', 'on');
    expect(r.signal, r.err).toBe('SIGSYS');
  });

  it('log: the call goes through, the thread lives, and the kernel logs it (audit type 1326, openat)', async () => {
    const r = await run('forbidden-open', 'log');
    expect(r.signal, r.err).toBeNull();
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('"result":"secret"');
    const lines = auditLines(r.pid);
    if (lines === undefined)
      console.warn('SKIP (the kernel log is not readable here): the log line of --seccomp log');
    else if (lines.length === 0 && !/CONFIG_AUDIT=y/.test(kernelConfig()))
      console.warn('SKIP (this kernel has no audit): the log line of --seccomp log');
    else expect(lines.some((l) => /syscall=257 /.test(l))).toBe(true);
  });

  it('on: a disk’s I/O thread serves every request type, a reset, a detach and its close inside its filter', async () => {
    const r = await run('device-thread');
    expect(r.signal, r.err).toBeNull();
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('OK');
  });
});

function kernelConfig(): string {
  try {
    return execFileSync(
      'sh',
      ['-c', 'zcat /proc/config.gz 2>/dev/null || cat /boot/config-$(uname -r) 2>/dev/null'],
      {
        encoding: 'utf8',
      },
    );
  } catch {
    return '';
  }
}
