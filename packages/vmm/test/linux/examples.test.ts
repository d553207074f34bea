// Tier 4: the programs in examples/ run as a user runs them (`node examples/NAME.mjs`, importing
// the built @vmm/vmm through the examples workspace package) against the test-vms kernel and
// initramfs, one Linux boot each, and their output is checked line by line. Every example in the
// folder must have a check here, so a new one cannot go untested.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { guestCmdline, hostTscKhz } from '../../../../test-vms/src/kernel/cmdline';
import { kvmUsable } from '../support/kvm-available';
import { linuxGuestAssets } from '../support/linux-guest';

const canRun = kvmUsable('tier 4: the examples/ programs with a Linux guest on /dev/kvm');
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const EXAMPLES = path.join(ROOT, 'examples');
/**
 * One example: a boot (30-65 s on software-emulated KVM, minutes under nested TCG), its work, a
 * power-off.
 */
const RUN_MS = 420_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Run examples/`name` with `args` and `env` added, as a child process (asynchronously). */
function runExample(name: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(EXAMPLES, name), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: RUN_MS, maxBuffer: 64 << 20 },
      (e, stdout, stderr) => {
        const code = e ? (typeof e.code === 'number' ? e.code : null) : 0;
        resolve({ code, stdout, stderr, seconds: (Date.now() - t0) / 1000 });
      },
    );
  });
}

/**
 * What to show when a run went wrong, short enough that a CI log's tail keeps it whole: its exit
 * code, its stdout, the last lines of its own stderr and of the guest's console (timestamped by
 * the kernel, so a stall shows where). The whole stderr goes to .cache/test-logs/ as well.
 */
function describeRun(name: string, r: Run): string {
  const log = path.join(ROOT, '.cache', 'test-logs', `${name}.stderr`);
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.writeFileSync(log, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  const guest = lines.filter((l) => l.startsWith('guest: '));
  const own = lines.filter((l) => !l.startsWith('guest: '));
  return [
    `examples/${name} exited ${r.code} after ${r.seconds} s (whole stderr: ${log})`,
    `--- stdout\n${r.stdout}`,
    `--- stderr, the example's own lines (last 12 of ${own.length})\n${own.slice(-12).join('\n')}`,
    `--- the guest's console (last 25 of ${guest.length} lines)\n${guest.slice(-25).join('\n')}`,
  ].join('\n');
}

/** Each example and how its output is checked (the guest's kernel and initramfs are the test-vms ones). */
const CHECKS: Record<string, (assets: { kernel: string; initrd: string }, cmdline: string) => Promise<void>> =
  {
    'run-command.mjs': async ({ kernel, initrd }, cmdline) => {
      const r = await runExample('run-command.mjs', [kernel, initrd], {
        VMM_CMDLINE: cmdline,
        VMM_SHOW_CONSOLE: '1',
      });
      console.log(`examples/run-command.mjs: ${r.seconds} s`);
      expect(r.code, describeRun('run-command.mjs', r)).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines, describeRun('run-command.mjs', r)).toEqual([
        expect.stringMatching(/^uname -r: 6\.\d+\.\d+ \(exit code 0\)$/),
        `sh -c 'exit 3': exit code 3, stderr "to stderr"`,
        'copied back: HELLO FROM THE HOST',
        'guest exited: poweroff',
      ]);
    },
    'socks5-proxy.mjs': async ({ kernel, initrd }, cmdline) => {
      // The paths from the environment this time (the other way the examples take them).
      const r = await runExample('socks5-proxy.mjs', [], {
        VMM_KERNEL: kernel,
        VMM_INITRD: initrd,
        VMM_CMDLINE: cmdline,
        VMM_SHOW_CONSOLE: '1',
      });
      console.log(`examples/socks5-proxy.mjs: ${r.seconds} s`);
      expect(r.code, describeRun('socks5-proxy.mjs', r)).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines, describeRun('socks5-proxy.mjs', r)).toEqual([
        expect.stringMatching(
          /^SOCKS5 proxy on 127\.0\.0\.1:\d+; fetching http:\/\/10\.0\.2\.2:\d+\/ through it$/,
        ),
        "hello from the host's loopback, fetched through the guest",
        'guest exited: poweroff',
      ]);
    },
  };

describe('examples/', () => {
  it('every example in the folder has a check here', () => {
    const found = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.mjs'));
    expect(found.sort()).toEqual(Object.keys(CHECKS).sort());
  });
});

describe.skipIf(!canRun)('examples/ against the test-vms Linux guest', () => {
  it(
    'each example runs to the end with the output it promises: a usage line without paths, then one boot each',
    async () => {
      // The examples import @vmm/vmm as a user does: its build, linked into examples/node_modules.
      for (const needed of ['packages/vmm/dist/index.js', 'examples/node_modules/@vmm/vmm/package.json']) {
        if (!fs.existsSync(path.join(ROOT, needed)))
          throw new Error(
            `${needed} is missing: run pnpm install and pnpm build first (pnpm test does both)`,
          );
      }
      for (const name of Object.keys(CHECKS)) {
        const usage = await runExample(name, [], { VMM_KERNEL: '', VMM_INITRD: '' });
        expect({ code: usage.code, stderr: usage.stderr }).toEqual({
          code: 2,
          stderr: expect.stringMatching(
            new RegExp(`^usage: node examples/${name.replace('.', '\\.')} KERNEL INITRD`),
          ),
        });
      }
      const assets = await linuxGuestAssets();
      // Kernel timestamps on each console line: a stall shows where and for how long.
      const cmdline = guestCmdline({ tscKhz: hostTscKhz(), extra: ['printk.time=1'] });
      // One after the other: each boot keeps a core busy.
      for (const check of Object.values(CHECKS)) await check(assets, cmdline);
    },
    2 * RUN_MS + 60_000,
  );
});
