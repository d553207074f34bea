// `pnpm bench boot`: our monitor and QEMU microvm on the same guests, in one run, median of N:
// (1) process start -> the PVH guest's first line, and -> process exit; (2) ns per userspace port
// exit (100 000 `out`s between two printed lines); (3) the minimal Linux to VMM-READY.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildAssets } from '../../test-vms/src/assets';

const root = path.resolve(import.meta.dirname, '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const EXITS = 100_000;

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
    child.on('error', reject);
    child.on('exit', () => resolve({ marks: seen, exit: ms() }));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export default async function benchBoot(): Promise<string> {
  const bin = path.join(root, 'packages/cli/dist/bin.js');
  if (!existsSync('/dev/kvm'))
    throw new Error(
      'cannot run here: no /dev/kvm (vmm doctor says why); this benchmark needs KVM for both monitors',
    );
  const a = await buildAssets('all');
  const g = a.guests!;
  const ours = (kernel: string, extra: string[] = []) =>
    ['node', [bin, 'run', '--kernel', kernel, '--memory', 'size=512M', ...extra]] as const;
  const qemu = (kernel: string, extra: string[] = []) =>
    [
      'qemu-system-x86_64',
      [
        '-enable-kvm',
        '-cpu',
        'host,-arch-capabilities',
        '-M',
        'microvm,acpi=on',
        '-m',
        '512M',
        '-nodefaults',
        '-no-user-config',
        '-nographic',
        '-serial',
        'stdio',
        '-no-reboot',
        '-kernel',
        kernel,
        ...extra,
      ],
    ] as const;

  const rows: string[][] = [];
  const compare = async (label: string, mk: typeof ours, target: string) => {
    const first: number[] = [];
    const exit: number[] = [];
    const perExit: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const [c, args] = mk(g['pvh-info']!);
      const t = await timeRun(c, [...args], []);
      first.push(t.marks.get('first-line') ?? NaN);
      exit.push(t.exit);
      const [c2, args2] = mk(g.exits!);
      const e = await timeRun(c2, [...args2], [/EXITS-BEGIN/, /EXITS-END/]);
      perExit.push((((e.marks.get('EXITS-END') ?? NaN) - (e.marks.get('EXITS-BEGIN') ?? NaN)) * 1e6) / EXITS);
    }
    rows.push([label, median(first).toFixed(1), median(exit).toFixed(1), median(perExit).toFixed(0), target]);
  };
  await compare('vmm', ours, '');
  await compare('QEMU microvm', qemu, '');

  const linux: string[][] = [];
  for (const [label, mk] of [
    ['vmm', ours],
    ['QEMU microvm', qemu],
  ] as const) {
    const times: number[] = [];
    for (let i = 0; i < Math.min(RUNS, 3); i++) {
      const [c, args] = mk(a.kernel!, ['--initrd', a.initrd!]);
      const t = await timeRun(c, [...args], [/VMM-READY/], /VMM-READY/);
      times.push(t.marks.get('VMM-READY') ?? NaN);
    }
    linux.push([label, (median(times) / 1000).toFixed(1)]);
  }
  const [v, q] = rows;
  const ratio = (i: number) => (Number(v![i]) / Number(q![i])).toFixed(2);
  return [
    `| monitor | start → first line (ms) | start → exit (ms) | ns per port exit | Linux to VMM-READY (s) |`,
    `|---|---|---|---|---|`,
    `| vmm | ${v![1]} | ${v![2]} | ${v![3]} | ${linux[0]![1]} |`,
    `| QEMU microvm | ${q![1]} | ${q![2]} | ${q![3]} | ${linux[1]![1]} |`,
    `| ratio vmm/QEMU (targets ≤0.8, ≤0.8, ≤1.2, ≤1.0) | ${ratio(1)} | ${ratio(2)} | ${ratio(3)} | ${(Number(linux[0]![1]) / Number(linux[1]![1])).toFixed(2)} |`,
    '',
    `Median of ${RUNS} runs (Linux: ${Math.min(RUNS, 3)}); guests from test-vms (pvh-info, exits, the minimal kernel).`,
  ].join('\n');
}
