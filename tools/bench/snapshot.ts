// `pnpm bench snapshot`: snapshot and restore-to-running of the `lifecycle` test guest (it counts
// every 100 ms) with 256 MiB and 2 GiB of RAM, median of N: the snapshot of the paused VM; the
// restore in one process (Vm.restore() + resume(), and to its first COUNT line), timed in a
// plain-node child that restores N + 1 times (in-process.mjs: this process runs under tsx, whose
// loader would inflate it; the first restore of that process, which also starts the worker pool,
// is reported apart); the restore in a new process (spawn -> "running" printed after resume()), and
// `vmm run --restore` (spawn -> its first COUNT line), beside `node -e 0` in the same run, the
// floor any Node program pays. Then the same for the tier-4 Linux guest (test-vms' kernel and
// initramfs, 256 MiB) snapshotted at its shell: its RAM stores tens of MiB where the lifecycle
// guest's stores 0.1, and → first guest line is its answer to a command typed after resume().
// The targets: in-process restore < 20 ms for 256 MiB; a new process within `node -e 0` + 30 ms.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeHypervisorState } from '../../packages/hypervisor/src/kvm/state-codec';
import { APIC_TMCCT, lapicRegister } from '../../packages/hypervisor/src/kvm/structs/lapic-state';
import { buildAssets } from '../../test-vms/src/assets';
import { buildGuests } from '../../test-vms/src/guests/build';
import { guestCmdline, hostTscKhz } from '../../test-vms/src/kernel/cmdline';
import { median } from './median';
import type * as VmmLibrary from '../../packages/vmm/src/index';
import { builtVmm, root } from './paths';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const SIZES = [256, 2048];
/**
 * The lifecycle guest is paused halfway through its period (in `hlt`, its one-shot LAPIC timer
 * armed) and snapshotted once that timer has expired while it was paused (current count 0, the
 * interrupt not yet taken). KVM restarts a one-shot timer restored with count 0 to expire at
 * once, so a restored guest prints its next COUNT as soon as it runs: → first guest line is the
 * restore's own time, with none of the guest's period in it. Paused at the line itself, the vCPU
 * was often caught before re-arming its timer, and → first COUNT came 100 ms apart between
 * snapshots (docs/benchmarks.md, 2026-12-05).
 */
const MID_PERIOD_MS = 50;
const PAUSED_PAST_EXPIRY_MS = 100;

type VmModule = typeof VmmLibrary;

/** The in-process child's report: one { running, first } per run, in ms (in-process.mjs). */
interface InProcess {
  runs: { running: number; first: number }[];
}

/** Run in-process.mjs with `args` and parse its report. */
function inProcess(args: string[]): Promise<InProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, 'in-process.mjs'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as InProcess)
        : reject(new Error(`in-process.mjs exited ${code}: ${out}`)),
    );
  });
}

/**
 * Time a child process from spawn to the first output matching `mark` (or to its exit without
 * one); it is then stopped with `stop` and waited for, so that runs never overlap.
 */
function timeChild(args: string[], mark?: RegExp, stop: NodeJS.Signals = 'SIGKILL'): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let at: number | undefined;
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (at === undefined && mark?.test(out)) {
        at = Number(process.hrtime.bigint() - t0) / 1e6;
        child.kill(stop);
      }
    });
    child.on('error', reject);
    child.on('exit', () => {
      if (!mark) resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      else if (at !== undefined) resolve(at);
      else reject(new Error(`child ended without ${mark}: ${out}`));
    });
  });
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

export default async function benchSnapshot(): Promise<string> {
  if (!fs.existsSync('/dev/kvm')) {
    throw new Error('cannot run here: no /dev/kvm (vmm doctor says why); this benchmark needs KVM');
  }
  const dist = path.join(root, 'packages/vmm/dist/index.js');
  if (!fs.existsSync(dist))
    throw new Error('run pnpm build first: the new-process restore uses the built library');
  const { Vmm } = (await import(dist)) as VmModule;
  const guest = (await buildGuests())['lifecycle']!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-bench-snapshot-'));
  // A script file, not `node -e`: worker threads inherit execArgv, and --input-type breaks them.
  // It starts the vCPU's pooled thread first (@vmm/vmm/warm, as `vmm run` does), so the thread
  // loads while the library does.
  const script = path.join(dir, 'restore.mjs');
  const warm = path.join(root, 'packages/vmm/dist/warm.js');
  fs.writeFileSync(
    script,
    `(await import(${JSON.stringify(warm)})).warmThreads(1, { refill: false }); ` +
      `const { Vm } = await import(${JSON.stringify(dist)}); ` +
      `const vm = await Vm.restore(process.argv[2], { prefault: process.argv[3] === 'prefault' }); ` +
      `await vm.resume(); process.stdout.write('running\\n'); await vm.dispose();\n`,
  );
  const child = [script];
  const rows: string[] = [];
  try {
    const nodeAlone: number[] = [];
    for (let i = 0; i < RUNS; i++) nodeAlone.push(await timeChild(['-e', '0']));
    const n = median(nodeAlone);
    for (const mib of SIZES) {
      const snap = path.join(dir, `snap-${mib}`);
      const take: number[] = [];
      let dataMiB = 0;
      for (let i = 0; i < RUNS; i++) {
        fs.rmSync(snap, { recursive: true, force: true });
        const vm = await Vmm.builder().kernel(guest).memory(`${mib}M`).console({ capture: true }).start();
        await vm.console.waitFor(/^COUNT 3\n/m, { timeoutMs: 60_000 });
        await sleep(MID_PERIOD_MS);
        await vm.pause();
        await sleep(PAUSED_PAST_EXPIRY_MS);
        const t0 = process.hrtime.bigint();
        await vm.snapshot(snap);
        take.push(ms(t0));
        await vm.dispose();
        dataMiB = storedMiB(snap);
        assertTimerExpired(snap);
      }
      const restores = await restoreCells('restore', snap, child, n);
      // The CLI: `vmm run --restore` resumes the VM (no API socket) and prints the guest's serial.
      // Stopped with SIGTERM (it exits as a user's Ctrl-C makes it), so that its first run writes
      // the code cache of `run --restore`; two untimed runs first.
      const cliArgs = [builtVmm, 'run', '--restore', `source_url=file://${snap}`];
      const count = /COUNT \d+\n/;
      for (let i = 0; i < 2; i++) await timeChild(cliArgs, count, 'SIGTERM');
      const cli: number[] = [];
      for (let i = 0; i < RUNS; i++) cli.push(await timeChild(cliArgs, count, 'SIGTERM'));
      rows.push(
        `| lifecycle, ${mib} MiB (${dataMiB.toFixed(1)} MiB stored) | ${median(take).toFixed(1)} | ${restores} | ` +
          `${median(cli).toFixed(1)} | ${(median(cli) - n).toFixed(1)} |`,
      );
    }
    rows.push(...(await linuxRows(Vmm, dir, child, n)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return [
    '| guest, RAM | snapshot (ms) | restore → running, in-process (ms) | → first guest line (ms) | in-process, first restore of the process (ms) | restore → running, new process (ms) | `node -e 0` (ms) | new process − `node -e 0` (ms) | `vmm run --restore`, new process → first guest line (ms) | − `node -e 0` (ms) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Median of ${RUNS} runs of each; the lifecycle test guest (1 vCPU), and the tier-4 Linux guest (1 vCPU, ` +
      'snapshotted paused at its shell once it printed VMM-READY, the same VM snapshotted each time; → first ' +
      'guest line is its answer to `echo` typed after resume(); `vmm run --restore` not timed for it: it prints ' +
      'nothing unasked). In-process: a plain-node child restoring ' +
      `${RUNS + 1} times in one process; the medians are of runs 2..${RUNS + 1}, which find the worker pool's threads ` +
      'loaded; its first run (the pool starting) is shown apart. The lifecycle guest prints COUNT every 100 ms; it ' +
      `is paused ${MID_PERIOD_MS} ms after a COUNT line and snapshotted ${PAUSED_PAST_EXPIRY_MS} ms later, its timer ` +
      'expired meanwhile: restored, it prints its next COUNT as soon as it runs (KVM fires a one-shot timer ' +
      'restored with count 0 at once). New process: a script that imports the built library ' +
      "(its ES modules, no code cache) restores and resumes; `vmm run --restore` is the CLI's binary (its " +
      'code-cached bundle), to the first COUNT line. Targets: in-process restore → running < 20 ms for 256 MiB; ' +
      'new process − `node -e 0` ≤ 30 ms. Restore checks the whole snapshot first (manifest, ' +
      "each file's CRC-32, the memory file's over its stored extents) and maps guest RAM " +
      'copy-on-write from the snapshot; restored with prefault (`Vm.restore(dir, { prefault: true })`, ' +
      "Cloud Hypervisor's restore `prefault`), the stored pages are also copied in before restore returns.",
  ].join('\n');
}

/**
 * The Linux guest's rows: snapshots of its paused shell, restored in-process and in a new process,
 * without and with prefault (its stored pages copied in at restore, not faulted in as it runs).
 */
async function linuxRows(
  Vmm: VmModule['Vmm'],
  dir: string,
  child: string[],
  nodeAlone: number,
): Promise<string[]> {
  const a = await buildAssets('kernel');
  const snap = path.join(dir, 'snap-linux');
  const take: number[] = [];
  const vm = await Vmm.builder()
    .kernel(a.kernel!)
    .initrd(a.initrd!)
    .cmdline(guestCmdline({ tscKhz: hostTscKhz() }))
    .memory('256M')
    .console({ capture: true })
    .start({ timeoutMs: 300_000 });
  try {
    await vm.console.waitFor(/VMM-READY/, { timeoutMs: 300_000 });
    await vm.pause();
    for (let i = 0; i < RUNS; i++) {
      fs.rmSync(snap, { recursive: true, force: true });
      const t0 = process.hrtime.bigint();
      await vm.snapshot(snap);
      take.push(ms(t0));
    }
  } finally {
    await vm.dispose();
  }
  const rows: string[] = [];
  for (const prefault of [false, true]) {
    const restores = await restoreCells('restore-shell', snap, child, nodeAlone, prefault);
    rows.push(
      `| Linux, 256 MiB (${storedMiB(snap).toFixed(1)} MiB stored)${prefault ? ', restored with prefault' : ''} | ` +
        `${median(take).toFixed(1)} | ${restores} | — | — |`,
    );
  }
  return rows;
}

/** The premise of the lifecycle rows: the saved guest's one-shot timer had expired (count 0). */
function assertTimerExpired(snap: string): void {
  const state = decodeHypervisorState(new Uint8Array(fs.readFileSync(path.join(snap, 'kvm.state'))));
  const lapic = state.vcpus[0]?.lapic;
  if (!lapic) throw new Error('the lifecycle guest was saved without a local APIC');
  const count = lapicRegister(new DataView(lapic.buffer, lapic.byteOffset, lapic.byteLength), APIC_TMCCT);
  if (count !== 0)
    throw new Error(`the lifecycle guest's LAPIC timer was saved with count ${count}, not expired`);
}

/** MiB the snapshot's memory file stores (its data, not its holes). */
function storedMiB(snap: string): number {
  return fs.statSync(path.join(snap, 'memory')).blocks / 2048;
}

/**
 * A row's restore cells: in-process → running and → first guest line (medians of the warm
 * runs), the process's first restore, a new process → running, `node -e 0`, and the difference.
 */
async function restoreCells(
  mode: 'restore' | 'restore-shell',
  snap: string,
  child: string[],
  nodeAlone: number,
  prefault = false,
): Promise<string> {
  const how = prefault ? ['prefault'] : [];
  // Run 1 of the child is a process's first restore (it also starts the worker pool); runs
  // 2..N+1 find the pool's threads loaded.
  const { runs } = await inProcess([mode, snap, String(RUNS + 1), ...how]);
  const [cold, ...warm] = runs;
  const fresh: number[] = [];
  for (let i = 0; i < RUNS; i++) fresh.push(await timeChild([...child, snap, ...how], /running/));
  return [
    median(warm.map((r) => r.running)),
    median(warm.map((r) => r.first)),
    cold!.running,
    median(fresh),
    nodeAlone,
    median(fresh) - nodeAlone,
  ]
    .map((x) => x.toFixed(1))
    .join(' | ');
}
