// `pnpm bench blk`: virtio-blk throughput of our monitor and QEMU microvm's virtio-blk-device, side
// by side in one run, on the same guest (test-vms blk-bench: the C test-guest driver, waiting for
// each completion's interrupt in `sti; hlt`) and the same raw image: sequential write and read with
// 1 MiB requests (then FLUSH after the writes), and 4 KiB random reads, one request in flight.
// The guest prints a line when each phase begins and ends; we timestamp the lines as they arrive on
// COM1. Each monitor runs RUNS times (default 7), alternately, the first of each pair alternating
// too; the table holds medians, and the ratio row the median of the rounds' own ratios (a round's
// two runs are seconds apart, so the host's drift cancels) with their range.
//
// VMM_BENCH_ACCEL=tcg: only QEMU, under TCG, for checking the harness on a host without /dev/kvm
// (the output says so; the numbers mean nothing).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildGuests } from '../../test-vms/src/guests/build';
import { parseVirtioOutput } from '../../test-vms/src/guests/virtio-output';
import { median } from './median';
import { builtVmm } from './paths';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const MIB = Number(process.env.BENCH_BLK_MIB ?? 64);
const RAND = Number(process.env.BENCH_BLK_RAND ?? 2000);
/** Passes of the sequential read over the image: the phase lasts long enough to time well. */
const PASSES = Number(process.env.BENCH_BLK_READ_PASSES ?? 4);
const RUN_TIMEOUT_MS = Number(process.env.BENCH_BLK_TIMEOUT_MS ?? 600_000);
const TCG = process.env.VMM_BENCH_ACCEL === 'tcg';
const PHASES = ['seq-write', 'seq-read', 'rand-read'] as const;
type Phase = (typeof PHASES)[number];

/** QEMU microvm (acpi=on: second IOAPIC) puts its 24 virtio-mmio transports at 0xfeb00000 + 512 i on
 * GSI 24 + i (hw/i386/microvm.c); with auto-kernel-cmdline=off we name them ourselves, as our
 * monitor does (see test-vms/src/guests/virtio-qemu.test.ts). */
const QEMU_TRANSPORTS = Array.from(
  { length: 24 },
  (_, i) => `virtio_mmio.device=512@0x${(0xfeb00000 + i * 512).toString(16)}:${24 + i}`,
).join(' ');

/** What one run measured: seconds per phase, from the guest's begin line to its end line. */
type PhaseSeconds = Record<Phase, number>;

interface Monitor {
  label: string;
  /** Starts the monitor; COM1's bytes arrive through `onData`; resolves with the exit code. */
  start(guest: string, image: string, cmdline: string, onData: (d: Buffer) => void): Promise<number | null>;
}

/** Our monitor: COM1 on its stdout (a pipe read at once; our UART does not drop bytes). */
function vmmMonitor(): Monitor {
  return {
    label: 'vmm',
    start: (guest, image, cmdline, onData) =>
      new Promise((resolve, reject) => {
        const args = [builtVmm, 'run', '--kernel', guest, '--memory', 'size=128M', '--disk', `path=${image}`];
        const child = spawn('node', [...args, '--cmdline', cmdline], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
        child.stdout.on('data', onData);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      }),
  };
}

/** QEMU microvm: COM1 on a Unix socket we connect to before the guest starts (wait=on). A pipe is
 * no good: QEMU drops COM1 bytes when a pipe is briefly full (test-vms/src/guests/qemu.test.ts). */
function qemuMonitor(work: string): Monitor {
  const accel = TCG ? [] : ['-enable-kvm', '-cpu', 'host,-arch-capabilities'];
  return {
    label: TCG ? 'QEMU microvm (TCG)' : 'QEMU microvm',
    start: (guest, image, cmdline, onData) =>
      new Promise((resolve, reject) => {
        const sock = path.join(work, `com1-${Date.now()}.sock`);
        const args = [
          ...accel,
          '-M',
          'microvm,acpi=on,auto-kernel-cmdline=off',
          '-m',
          '128M',
          '-nodefaults',
          '-no-user-config',
          '-display',
          'none',
          '-no-reboot',
          '-chardev',
          `socket,id=com1,path=${sock},server=on,wait=on`,
          '-serial',
          'chardev:com1',
          '-global',
          'virtio-mmio.force-legacy=false',
          '-device',
          'virtio-blk-device,drive=d0',
          '-drive',
          `id=d0,file=${image},format=raw,if=none`,
          '-kernel',
          guest,
          '-append',
          `${QEMU_TRANSPORTS} ${cmdline}`,
        ];
        // stderr kept (QEMU's "waiting for connection" notice is noise) and shown if it fails.
        const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
        const connect = (tries: number) => {
          const s = net.connect(sock);
          s.on('data', onData);
          s.on('error', () => {
            if (tries > 0 && child.exitCode === null) setTimeout(() => connect(tries - 1), 20);
          });
        };
        connect(500);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          if (code !== 0) process.stderr.write(stderr.replace(/^.*waiting for connection.*\n/gm, ''));
          resolve(code);
        });
      }),
  };
}

/** One run: the guest's output, each BENCH line timestamped on arrival, checked for the right counts. */
async function runOnce(m: Monitor, guest: string, image: string): Promise<PhaseSeconds> {
  const t0 = process.hrtime.bigint();
  const at = new Map<string, number>();
  let out = '';
  let pending = '';
  const code = await m.start(
    guest,
    image,
    `bench.mib=${MIB} bench.passes=${PASSES} bench.rand=${RAND}`,
    (d) => {
      const now = Number(process.hrtime.bigint() - t0) / 1e9;
      out += d.toString('latin1');
      pending += d.toString('latin1');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        const b = /^BENCH ([\w-]+) (begin|end)/.exec(line);
        if (b) at.set(`${b[1]} ${b[2]}`, now);
      }
    },
  );
  const o = parseVirtioOutput(out);
  const expected = [
    { phase: 'seq-write', bytes: MIB * 2 ** 20, ops: MIB },
    { phase: 'seq-read', bytes: PASSES * MIB * 2 ** 20, ops: PASSES * MIB },
    { phase: 'rand-read', bytes: RAND * 4096, ops: RAND },
  ];
  if (o.errors.length > 0 || !o.done || JSON.stringify(o.benchEnded) !== JSON.stringify(expected)) {
    throw new Error(
      `${m.label}: blk-bench did not finish cleanly (exit ${code}); its output:\n${out.slice(-2000)}`,
    );
  }
  const secs = {} as PhaseSeconds;
  for (const p of PHASES) secs[p] = (at.get(`${p} end`) ?? NaN) - (at.get(`${p} begin`) ?? NaN);
  return secs;
}

/** A raw image of MIB MiB: created sparse, then filled (so reads hit allocated blocks). */
function makeImage(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, MIB * 2 ** 20);
    const chunk = Buffer.alloc(2 ** 20);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
    for (let i = 0; i < MIB; i++) fs.writeSync(fd, chunk, 0, chunk.length, i * 2 ** 20);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export default async function benchBlk(): Promise<string> {
  if (!TCG && !fs.existsSync('/dev/kvm')) {
    throw new Error(
      'cannot run here: no /dev/kvm (vmm doctor says why); this benchmark needs KVM for both monitors',
    );
  }
  if (!Number.isInteger(MIB) || MIB < 1 || MIB > 4096 || !Number.isInteger(RAND) || RAND < 1) {
    throw new Error('BENCH_BLK_MIB must be 1..4096 and BENCH_BLK_RAND a positive integer');
  }
  if (!Number.isInteger(PASSES) || PASSES < 1 || PASSES > 1024) {
    throw new Error('BENCH_BLK_READ_PASSES must be 1..1024');
  }
  if (TCG) process.stderr.write('bench blk: VMM_BENCH_ACCEL=tcg: QEMU only, under TCG (a harness check)\n');
  const guest = (await buildGuests())['blk-bench']!;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-bench-blk-'));
  try {
    const image = path.join(work, 'disk.img');
    makeImage(image);
    const monitors = TCG ? [qemuMonitor(work)] : [vmmMonitor(), qemuMonitor(work)];
    const results = monitors.map(() => [] as PhaseSeconds[]);
    for (let r = 0; r < RUNS; r++) {
      const order = r % 2 === 0 ? [...monitors.keys()] : [...monitors.keys()].reverse();
      for (const i of order) {
        const m = monitors[i]!;
        process.stderr.write(`bench blk: ${m.label}, run ${r + 1} of ${RUNS}\n`);
        results[i]!.push(await runOnce(m, guest, image));
      }
    }
    const rows = results.map((runs) => {
      const s = (p: Phase) => median(runs.map((x) => x[p]));
      const mbps = (p: Phase, passes: number) => (passes * MIB * 2 ** 20) / 1e6 / s(p);
      return [mbps('seq-write', 1), mbps('seq-read', PASSES), RAND / s('rand-read')];
    });
    const fmt = (xs: number[]) => xs.map((x, i) => x.toFixed(i === 2 ? 0 : 1)).join(' | ');
    const lines = [
      '| monitor | seq write MB/s (1 MiB) | seq read MB/s (1 MiB) | rand read IOPS (4 KiB) |',
      '|---|---|---|---|',
      ...monitors.map((m, i) => `| ${m.label} | ${fmt(rows[i]!)} |`),
    ];
    if (!TCG) {
      // Per round: QEMU's time over ours (rates: ours over QEMU's), then the median and range.
      const [v, q] = results as [PhaseSeconds[], PhaseSeconds[]];
      const ratios = PHASES.map((p) => v.map((run, r) => q[r]![p] / run[p]).sort((a, b) => a - b));
      lines.push(
        `| vmm / QEMU, median of the rounds' ratios (target ≥ 1.0 each) | ${ratios.map((x) => median(x).toFixed(2)).join(' | ')} |`,
        `| vmm / QEMU, range over the rounds | ${ratios.map((x) => `${x[0]!.toFixed(2)}–${x.at(-1)!.toFixed(2)}`).join(' | ')} |`,
      );
    }
    lines.push(
      '',
      `Median of ${RUNS} runs each, alternating; guest test-vms blk-bench (one request in flight, interrupt-driven),` +
        ` ${MIB} MiB raw image (bench.mib=${MIB}: writes then FLUSH, then ${PASSES} read passes), ${RAND} random 4 KiB reads; MB = 10^6 bytes.`,
    );
    if (TCG)
      lines.push('', 'VMM_BENCH_ACCEL=tcg: QEMU under TCG only, a check of the harness; not a result.');
    return lines.join('\n');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
