// `pnpm bench rss`: the monitor's resident memory beyond guest RAM, for an idle VM with a disk and
// a network: our monitor and QEMU microvm (its RAM on a memfd too, user networking: slirp, as our
// NAT is in-process), the same Linux guest (test-vms kernel and initramfs, 256 MiB), read from
// /proc/PID/status 5 s after VMM-READY. Guest RAM is shared memory in both (RssShmem), so what the
// monitor costs is VmRSS - RssShmem: its code, heaps, threads' stacks and buffers. Target < 40 MiB.
// Split as the kernel counts it: RssFile (the binary's and libraries' pages, shared with every other
// process running them: a second VM does not pay them again) and RssAnon (the monitor's own heaps and
// stacks: what each VM costs). An idle `node` with nothing loaded is Node's own floor.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildAssets } from '../../test-vms/src/assets';
import { guestCmdline, hostTscKhz } from '../../test-vms/src/kernel/cmdline';
import { median } from './median';
import { builtVmm } from './paths';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const READY_MS = 300_000;
const IDLE_MS = 5_000;
const KiB = 1024;

interface Sample {
  rssMiB: number;
  shmemMiB: number;
  beyondMiB: number;
  fileMiB: number;
  anonMiB: number;
  threads: number;
}

function statusOf(pid: number): Sample {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const rss = kb('VmRSS');
  const shmem = kb('RssShmem');
  const threads = Number(/^Threads:\s+(\d+)/m.exec(text)?.[1] ?? NaN);
  return {
    rssMiB: rss / KiB,
    shmemMiB: shmem / KiB,
    beyondMiB: (rss - shmem) / KiB,
    fileMiB: kb('RssFile') / KiB,
    anonMiB: kb('RssAnon') / KiB,
    threads,
  };
}

/** Start a monitor, wait for the guest's VMM-READY (or `ready` in its output), let it idle, sample it, kill it. */
async function sample(cmd: string, args: string[], ready = 'VMM-READY'): Promise<Sample> {
  const child: ChildProcess = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`no VMM-READY within ${READY_MS} ms: ${out.slice(-500)}`)),
        READY_MS,
      );
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString('latin1');
        if (out.includes(ready)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) =>
        reject(new Error(`${cmd} ended (${code}) before VMM-READY: ${out.slice(-500)}`)),
      );
    });
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return statusOf(child.pid!);
  } finally {
    child.kill('SIGKILL');
  }
}

export default async function benchRss(): Promise<string> {
  if (!fs.existsSync('/dev/kvm')) {
    throw new Error(
      'cannot run here: no /dev/kvm (vmm doctor says why); this benchmark needs KVM for both monitors',
    );
  }
  const a = await buildAssets('kernel');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-bench-rss-'));
  const disk = path.join(dir, 'disk.img');
  fs.writeFileSync(disk, Buffer.alloc(0));
  fs.truncateSync(disk, 64 * 2 ** 20);
  const cmdline = guestCmdline({ tscKhz: hostTscKhz() });
  const monitors: { label: string; cmd: string; args: string[]; ready?: string }[] = [
    {
      label: 'vmm',
      cmd: process.execPath,
      args: [
        builtVmm,
        'run',
        '--kernel',
        a.kernel!,
        '--initrd',
        a.initrd!,
        '--memory',
        'size=256M',
        '--cmdline',
        cmdline,
        '--disk',
        `path=${disk}`,
        '--net',
        '',
      ],
    },
    {
      label: 'QEMU microvm',
      cmd: 'qemu-system-x86_64',
      args: [
        '-enable-kvm',
        '-cpu',
        'host,-arch-capabilities',
        '-M',
        'microvm,acpi=on,memory-backend=mem',
        '-object',
        'memory-backend-memfd,id=mem,size=256M',
        '-m',
        '256M',
        '-nodefaults',
        '-no-user-config',
        '-nographic',
        '-serial',
        'stdio',
        '-no-reboot',
        '-kernel',
        a.kernel!,
        '-initrd',
        a.initrd!,
        '-append',
        cmdline,
        '-drive',
        `id=d0,file=${disk},format=raw,if=none`,
        '-device',
        'virtio-blk-device,drive=d0',
        '-netdev',
        'user,id=n0',
        '-device',
        'virtio-net-device,netdev=n0',
      ],
    },
  ];
  // Node's own floor: the same node, idle, nothing of ours loaded.
  monitors.push({
    label: "`node` idle (no VM: Node's own floor)",
    cmd: process.execPath,
    args: ['-e', 'console.log("IDLE"); setInterval(() => {}, 1000)'],
    ready: 'IDLE',
  });
  const rows: string[] = [];
  const beyond: number[] = [];
  const anon: number[] = [];
  try {
    for (const m of monitors) {
      const samples: Sample[] = [];
      for (let i = 0; i < RUNS; i++) samples.push(await sample(m.cmd, m.args, m.ready));
      const med = (f: (s: Sample) => number) => median(samples.map(f));
      beyond.push(med((s) => s.beyondMiB));
      anon.push(med((s) => s.anonMiB));
      rows.push(
        `| ${m.label} | ${med((s) => s.rssMiB).toFixed(1)} | ${med((s) => s.shmemMiB).toFixed(1)} | ` +
          `${med((s) => s.beyondMiB).toFixed(1)} | ${med((s) => s.fileMiB).toFixed(1)} | ` +
          `${med((s) => s.anonMiB).toFixed(1)} | ${med((s) => s.threads)} |`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return [
    '| monitor | VmRSS (MiB) | of it guest RAM (RssShmem, MiB) | the monitor beyond guest RAM (MiB) | of it file pages (RssFile: code, shared) | of it private (RssAnon: per VM) | threads |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    `| vmm − QEMU (target: vmm < 40 MiB beyond guest RAM) | | | ${(beyond[0]! - beyond[1]!).toFixed(1)} | | ` +
      `${(anon[0]! - anon[1]!).toFixed(1)} | |`,
    '',
    `Median of ${RUNS} runs each; the test-vms Linux guest with 256 MiB, a 64 MiB raw disk and a NIC ` +
      `(our NAT; QEMU's user networking), sampled ${IDLE_MS / 1000} s after VMM-READY; the idle \`node\` ` +
      `5 s after it started.`,
  ].join('\n');
}
