// `pnpm bench vsock`: what a library user gets from vsock and the guest agent, in one boot of the
// test-vms Linux guest (the built @vmm/vmm, as an application embeds it): the round trip of
// `exec(['true'])` through the agent beside the same work typed on the serial console and its
// marker awaited (the baseline a user has without vsock): `sh -c true`, a process started as the
// agent starts one (busybox's `true` alone is a shell builtin, no process at all, which flattered
// the console on hosts where the guest kernel's fork is expensive), and stream throughput through the agent
// both ways (copyIn and copyOut of a file in the guest's RAM-backed /tmp), sha256-checked.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildAssets } from '../../test-vms/src/assets';
import { guestCmdline, hostTscKhz } from '../../test-vms/src/kernel/cmdline';
import type * as VmmLibrary from '../../packages/vmm/src/index';
import { median } from './median';
import { root } from './paths';

const ROUNDS = Number(process.env.BENCH_RUNS ?? 20);
const MIB = Number(process.env.BENCH_VSOCK_MIB ?? 32);
const BOOT_MS = 300_000;

export default async function vsockBench(): Promise<string> {
  const built = path.join(root, 'packages/vmm/dist/index.js');
  if (!fs.existsSync(built)) throw new Error('run pnpm build first: the benchmark uses the built @vmm/vmm');
  const { Vmm } = (await import(built)) as typeof VmmLibrary;
  const assets = await buildAssets('kernel');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-bench-vsock-'));
  process.stderr.write('bench vsock: booting the test Linux guest\n');
  const vm = await Vmm.builder()
    .kernel(assets.kernel!)
    .initrd(assets.initrd!)
    .cmdline(guestCmdline({ tscKhz: hostTscKhz() }))
    .cpus(2)
    .memory('512M')
    .console()
    .vsock({ cid: 3 })
    .start({ timeoutMs: BOOT_MS, agentTimeoutMs: BOOT_MS });
  try {
    await vm.console.waitFor(/VMM-READY/, { timeoutMs: BOOT_MS });
    await vm.exec(['true']); // the agent is up: what follows is steady state

    const agentMs: number[] = [];
    const serialMs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      let t = performance.now();
      const r = await vm.exec(['true']);
      if (r.code !== 0) throw new Error(`exec true gave ${r.code}`);
      agentMs.push(performance.now() - t);
      t = performance.now();
      vm.console.write(`sh -c true; echo BENCH-MARK-$((${i} + 1000))\n`);
      await vm.console.waitFor(`BENCH-MARK-${i + 1000}\r\n`, { timeoutMs: 60_000, fromNow: true });
      serialMs.push(performance.now() - t);
    }
    process.stderr.write(`bench vsock: ${ROUNDS} exec round trips each way done; streaming ${MIB} MiB\n`);

    const payload = randomBytes(MIB * 2 ** 20);
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const src = path.join(dir, 'in.bin');
    fs.writeFileSync(src, payload);
    let t = performance.now();
    await vm.copyIn(src, '/tmp/bench.bin');
    const inS = (performance.now() - t) / 1000;
    const out = path.join(dir, 'out.bin');
    t = performance.now();
    await vm.copyOut('/tmp/bench.bin', out);
    const outS = (performance.now() - t) / 1000;
    if (sha(fs.readFileSync(out)) !== sha(payload))
      throw new Error('copyOut did not bring back what copyIn sent');
    const mbps = (s: number) => ((MIB * 2 ** 20) / s / 1e6).toFixed(1);
    const ms = (xs: number[]) => median(xs).toFixed(1);
    return [
      '| path | a process running `true`, round trip, median ms | host → guest MB/s | guest → host MB/s |',
      '|---|---:|---:|---:|',
      `| guest agent over virtio-vsock | ${ms(agentMs)} | ${mbps(inS)} | ${mbps(outS)} |`,
      `| serial console (typed, marker awaited) | ${ms(serialMs)} | — | — |`,
      `| console / agent | ${(median(serialMs) / median(agentMs)).toFixed(2)} | | |`,
      '',
      `${ROUNDS} round trips each, alternating; ${MIB} MiB through copyIn then copyOut (sha256 checked) into the guest's RAM-backed /tmp; one boot of the test-vms Linux guest (2 vCPUs, 512M), the built @vmm/vmm in-process; MB = 10^6 bytes.`,
    ].join('\n');
  } finally {
    await vm.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
