// The worker-thread pool (io/worker-pool.ts) on the scripted vCPU backend (stands in for KVM:
// runs on hosts without it). The vCPU threads of a second VM in the process come from the pool,
// loaded (read from the pool's counters, not from timings); the pool refills after a take; its
// idle threads never keep the process alive, even when they wrote to their stderr; a disposed VM
// and a released pool leave no fd behind. The same on /dev/kvm: test/kvm/warm-threads.test.ts.
import fs from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { Vmm, releaseWarmThreads, warmThreadStats } from '../../src/index';
import { ScriptedHypervisor } from '../support/scripted-hypervisor';
import { printLine } from '../support/scripted-vcpu';
import { hostProbe, poweroff } from '../support/scripted-vmm';
import { runTsxChild } from '../support/tsx-child';

const fds = () =>
  fs
    .readdirSync('/proc/self/fd')
    .map((f) => {
      try {
        return `${f}:${fs.readlinkSync(`/proc/self/fd/${f}`)}`;
      } catch {
        return f;
      }
    })
    .sort();

describe('the worker-thread pool on a scripted vCPU backend (stands in for KVM: runs on hosts without it)', () => {
  let kernel: string;
  beforeAll(async () => {
    kernel = (await buildGuests())['pvh-info']!;
  }, 300_000);

  /** Boot a one-vCPU VM that prints `line` and powers off; resolves once it is disposed. */
  async function bootOnce(line: string): Promise<void> {
    const hv = new ScriptedHypervisor([[[...printLine(line), poweroff]]]);
    const vm = await Vmm.builder()
      .kernel(kernel)
      .cpus(1)
      .memory('64M')
      .console()
      .start({ hypervisor: hv, probe: hostProbe });
    await vm.console.waitFor(line, { timeoutMs: 30_000 });
    expect((await vm.exited).outcome).toBe('poweroff');
    await vm.dispose();
  }

  it('a second VM takes loaded threads (its vCPU); the pool refills; released, nothing is left open', async () => {
    await releaseWarmThreads();
    const before = fds();
    await bootOnce('first VM');
    // Refilled in the background to what Vmm.create asked for (1 vCPU), and loaded.
    await vi.waitFor(() => expect(warmThreadStats().idleLoaded).toBe(1), { timeout: 30_000, interval: 50 });
    const s0 = warmThreadStats();
    await bootOnce('second VM');
    const s1 = warmThreadStats();
    expect(s1.takenLoaded - s0.takenLoaded).toBe(1);
    expect(s1.takenLoading - s0.takenLoading).toBe(0);
    expect(s1.takenCold - s0.takenCold).toBe(0);
    expect(s1.failed).toBe(0);
    await vi.waitFor(() => expect(warmThreadStats().idle).toBe(1), { timeout: 30_000, interval: 50 });
    // The idle threads are the pool's until released; then the process is as it was.
    await releaseWarmThreads();
    expect(warmThreadStats().idle).toBe(0);
    await vi.waitFor(() => expect(fds()).toEqual(before), { timeout: 5000 });
  });

  it.each([
    ['', {}],
    // NODE_DEBUG makes each thread's bootstrap write to its stderr, which no one reads while it
    // waits: Node held such a worker referenced, and the process waited for good.
    [', even when they wrote to their stderr', { NODE_DEBUG: 'worker' }],
  ])(
    'idle pool threads never keep the process alive: a process that booted a VM and returned exits by itself, once the threads still loading have loaded%s',
    async (_what, env) => {
      const { code, signal, out, err } = await runTsxChild(
        'packages/vmm/test/support/warm-child.ts',
        [kernel],
        { timeoutMs: 60_000, env: { ...process.env, ...env } },
      );
      expect(signal, `killed after 60 s: the pool kept the process alive\n${out}\n${err}`).toBeNull();
      expect(code, err).toBe(0);
      const [first = '', last = ''] = out.trim().split('\n');
      const report = JSON.parse(first) as { exit: string; stats: { idle: number; idleLoaded: number } };
      expect(report.exit).toBe('poweroff');
      expect(report.stats.idle).toBe(4); // there were idle threads when the module returned...
      expect(report.stats.idleLoaded).toBeLessThan(4); // ...still loading...
      const atExit = JSON.parse(last) as { atExit: { idle: number; idleLoaded: number } };
      expect(atExit.atExit).toMatchObject({ idle: 4, idleLoaded: 4 }); // ...which the exit waited out
      if ('NODE_DEBUG' in env) {
        // Each thread's bootstrap says which script it starts: the taken thread's lines were passed
        // on, the four idle threads' waited unread.
        expect(err.match(/starts worker script.*pool-worker/g)).toHaveLength(1);
      }
    },
  );
});
