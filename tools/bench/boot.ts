// `pnpm bench boot`: our monitor and QEMU microvm on the same guests, in one run, median of N:
// (1) process start -> the PVH guest's first line, and -> process exit; (2) ns per userspace port
// exit (100 000 `out`s between two printed lines); (3) the minimal Linux to VMM-READY. Then the
// fast start's targets, read off the same run: `node -e 0` (spawn -> exit, the floor of any Node
// program) and the library's in-process start() -> the guest's first line, timed in a plain-node
// child (in-process.mjs; this process runs under tsx, whose loader would inflate it).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildAssets } from '../../test-vms/src/assets';
import { guestCmdline, hostTscKhz } from '../../test-vms/src/kernel/cmdline';
import { median } from './median';
import { builtVmm } from './paths';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const EXITS = 100_000;
const RUN_TIMEOUT_MS = 300_000;

interface Timing {
  marks: Map<string, number>;
  exit: number;
}

/** Run a command, timestamp the first line and each line matching `marks`, until exit or `until`. */
function timeRun(cmd: string, args: string[], marks: RegExp[], until?: RegExp): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const seen = new Map<string, number>();
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (!seen.has('first-line') && line.trim() !== '') seen.set('first-line', ms());
        for (const m of marks) if (m.test(line) && !seen.has(m.source)) seen.set(m.source, ms());
        if (until?.test(line)) child.kill('SIGKILL');
      }
    });
    // A run that never ends (a hung guest) is killed; its missing marks make the medians NaN.
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve({ marks: seen, exit: ms() });
    });
  });
}

interface Monitor {
  label: string;
  guest(kernel: string): [string, string[]];
  linux(kernel: string, initrd: string, cmdline: string): [string, string[]];
}

export default async function benchBoot(): Promise<string> {
  if (!existsSync('/dev/kvm')) {
    throw new Error(
      'cannot run here: no /dev/kvm (vmm doctor says why); this benchmark needs KVM for both monitors',
    );
  }
  const a = await buildAssets('all');
  const g = a.guests!;
  const qemuBase = ['-enable-kvm', '-cpu', 'host,-arch-capabilities', '-M', 'microvm,acpi=on', '-m', '512M'];
  const qemuIo = ['-nodefaults', '-no-user-config', '-nographic', '-serial', 'stdio', '-no-reboot'];
  const monitors: Monitor[] = [
    {
      label: 'vmm',
      guest: (k) => ['node', [builtVmm, 'run', '--kernel', k, '--memory', 'size=512M']],
      linux: (k, i, c) => [
        'node',
        [builtVmm, 'run', '--kernel', k, '--initrd', i, '--memory', 'size=256M', '--cmdline', c],
      ],
    },
    {
      label: 'QEMU microvm',
      guest: (k) => ['qemu-system-x86_64', [...qemuBase, ...qemuIo, '-kernel', k]],
      linux: (k, i, c) => [
        'qemu-system-x86_64',
        [...qemuBase.slice(0, -1), '256M', ...qemuIo, '-kernel', k, '-initrd', i, '-append', c],
      ],
    },
  ];

  // The same command line for both, TSC frequency included (it cannot be calibrated under emulation).
  const cmdline = guestCmdline({ tscKhz: hostTscKhz() });
  const rows: string[][] = [];
  const nodeAlone: number[] = [];
  for (const m of monitors) {
    const first: number[] = [];
    const exit: number[] = [];
    const perExit: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // `node -e 0` between our runs: the same machine state as the vmm runs it is the floor of.
      if (m.label === 'vmm') nodeAlone.push((await timeRun('node', ['-e', '0'], [])).exit);
      const t = await timeRun(...m.guest(g['pvh-info']!), []);
      first.push(t.marks.get('first-line') ?? NaN);
      exit.push(t.exit);
      const e = await timeRun(...m.guest(g.exits!), [/EXITS-BEGIN/, /EXITS-END/]);
      const span = (e.marks.get('EXITS-END') ?? NaN) - (e.marks.get('EXITS-BEGIN') ?? NaN);
      perExit.push((span * 1e6) / EXITS);
    }
    const linux: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = await timeRun(...m.linux(a.kernel!, a.initrd!, cmdline), [/VMM-READY/], /VMM-READY/);
      linux.push((t.marks.get('VMM-READY') ?? NaN) / 1000);
    }
    rows.push([m.label, ...[first, exit, perExit, linux].map((xs) => median(xs))].map(String));
  }
  const [v, q] = rows.map((r) => r.slice(1).map(Number)) as [number[], number[]];

  // One plain-node process starting the pvh-info guest RUNS + 1 times: run 1 also starts the worker
  // pool (at Vmm.create); runs 2.. find its threads loaded.
  const child = path.join(import.meta.dirname, 'in-process.mjs');
  const report = JSON.parse(
    execFileSync(process.execPath, [child, 'start', g['pvh-info']!, '512M', String(RUNS + 1)], {
      encoding: 'utf8',
    }),
  ) as { runs: { running: number; first: number }[] };
  const [cold, ...warm] = report.runs;
  const n = median(nodeAlone);
  const inProcess = median(warm.map((r) => r.first));
  const half = q[0]! / 2;
  const fmt = (xs: number[]) => xs.map((x, i) => x.toFixed(i === 3 ? 1 : i === 2 ? 0 : 1)).join(' | ');
  const ms = (x: number) => x.toFixed(1);
  return [
    '| monitor | start → first line (ms) | start → exit (ms) | ns per port exit | Linux to VMM-READY (s) |',
    '|---|---|---|---|---|',
    `| vmm | ${fmt(v)} |`,
    `| QEMU microvm | ${fmt(q)} |`,
    `| vmm / QEMU (targets ≤ 0.8, ≤ 0.8, ≤ 1.2, ≤ 1.0) | ${v.map((x, i) => (x / q[i]!).toFixed(2)).join(' | ')} |`,
    '',
    '| the fast start (pvh-info guest, 512 MiB) | ms | target (ms) |',
    '|---|---|---|',
    `| \`node -e 0\`, spawn → exit | ${ms(n)} | |`,
    `| QEMU microvm, start → first line | ${ms(q[0]!)} | |`,
    `| \`vmm run\`, start → first line | ${ms(v[0]!)} | ≤ ${ms(n + half)} (\`node -e 0\` + ½ QEMU) |`,
    `| \`vmm run\` beyond \`node -e 0\` | ${ms(v[0]! - n)} | ≤ ${ms(half)} |`,
    `| in-process \`start()\` → first line, pool warm | ${ms(inProcess)} | ≤ ${ms(half)} (½ QEMU) |`,
    `| in-process \`start()\` → first line, the process's first VM | ${ms(cold!.first)} | |`,
    `| in-process \`start()\` → running (vCPUs ready), pool warm | ${ms(median(warm.map((r) => r.running)))} | |`,
    '',
    `Median of ${RUNS} runs of each; guests from test-vms (pvh-info, exits, the minimal kernel). In-process: ` +
      `one plain-node process starting the VM ${RUNS + 1} times (Vmm.builder()...start(), 1 vCPU); the warm ` +
      "medians are of runs 2.., which find the worker pool's threads loaded; run 1 also starts the pool.",
  ].join('\n');
}
