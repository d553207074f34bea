// `pnpm bench snapshot`: snapshot and restore-to-running of the `lifecycle` test guest (it counts
// every 100 ms) with 256 MiB and 2 GiB of RAM, median of N: the snapshot of the paused VM; the
// restore in this process (Vm.restore() + resume(), and to its first COUNT line); the restore in a
// new process (spawn -> "running" printed after resume()) beside `node -e 0` in the same run, the
// floor any Node program pays. The targets: in-process restore < 20 ms for 256 MiB; a new process
// within `node -e 0` + 30 ms.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildGuests } from '../../test-vms/src/guests/build';
import { median } from './median';
import type * as VmmLibrary from '../../packages/vmm/src/index';

const root = path.resolve(import.meta.dirname, '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const SIZES = [256, 2048];

type VmModule = typeof VmmLibrary;

/** Time a child process from spawn to the first line matching `mark` (or to its exit without one). */
function timeChild(args: string[], mark?: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    };
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (mark?.test(out)) {
        finish();
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', () =>
      mark ? (done ? undefined : reject(new Error(`child ended without ${mark}: ${out}`))) : finish(),
    );
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
  const { Vm, Vmm } = (await import(dist)) as VmModule;
  const guest = (await buildGuests())['lifecycle']!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-bench-snapshot-'));
  // A script file, not `node -e`: worker threads inherit execArgv, and --input-type breaks them.
  const script = path.join(dir, 'restore.mjs');
  fs.writeFileSync(
    script,
    `const { Vm } = await import(${JSON.stringify(dist)}); const vm = await Vm.restore(process.argv[2]); ` +
      `await vm.resume(); process.stdout.write('running\\n'); await vm.dispose();\n`,
  );
  const child = [script];
  const rows: string[] = [];
  try {
    const nodeAlone: number[] = [];
    for (let i = 0; i < RUNS; i++) nodeAlone.push(await timeChild(['-e', '0']));
    for (const mib of SIZES) {
      const snap = path.join(dir, `snap-${mib}`);
      const take: number[] = [];
      let dataMiB = 0;
      for (let i = 0; i < RUNS; i++) {
        fs.rmSync(snap, { recursive: true, force: true });
        const vm = await Vmm.builder().kernel(guest).memory(`${mib}M`).console({ capture: true }).start();
        await vm.console.waitFor(/^COUNT 3\n/m, { timeoutMs: 60_000 });
        await vm.pause();
        const t0 = process.hrtime.bigint();
        await vm.snapshot(snap);
        take.push(ms(t0));
        await vm.dispose();
        dataMiB = fs.statSync(path.join(snap, 'memory')).blocks / 2048;
      }
      const restore: number[] = [];
      const firstLine: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = process.hrtime.bigint();
        const vm = await Vm.restore(snap);
        await vm.resume();
        restore.push(ms(t0));
        await vm.console.waitFor(/^COUNT \d+\n/m, { timeoutMs: 30_000 });
        firstLine.push(ms(t0));
        await vm.dispose();
      }
      const fresh: number[] = [];
      for (let i = 0; i < RUNS; i++) fresh.push(await timeChild([...child, snap], /running/));
      const n = median(nodeAlone);
      rows.push(
        `| ${mib} MiB (${dataMiB.toFixed(1)} MiB stored) | ${median(take).toFixed(1)} | ${median(restore).toFixed(1)} | ` +
          `${median(firstLine).toFixed(1)} | ${median(fresh).toFixed(1)} | ${n.toFixed(1)} | ${(median(fresh) - n).toFixed(1)} |`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return [
    '| guest RAM | snapshot (ms) | restore → running, in-process (ms) | → first guest line (ms) | restore → running, new process (ms) | `node -e 0` (ms) | new process − `node -e 0` (ms) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Median of ${RUNS} runs of each; the lifecycle test guest (1 vCPU). Targets: in-process restore → running < 20 ms ` +
      'for 256 MiB; new process − `node -e 0` ≤ 30 ms. Restore checks the whole snapshot first (manifest, ' +
      "each file's SHA-256, memory by content) and maps guest RAM copy-on-write from the snapshot.",
  ].join('\n');
}
