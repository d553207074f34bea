// Tier 2: the worker-thread pool (io/worker-pool.ts) on /dev/kvm. A second VM in the process runs
// its vCPUs on pooled threads that had loaded their modules (read from the pool's counters, not
// from timings), and takes none for its rng, whose kicks come to the main thread (the kick poller
// waits on a thread of libuv's pool), the pool refills after each take, and a disposed VM with a
// released pool leaves no fd open. The scripted-backend version: test/model/warm-threads.test.ts.
import fs from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { Vmm, releaseWarmThreads, warmThreadStats } from '../../src/index';
import { kvmUsable } from '../support/kvm-available';

const canRun = kvmUsable('tier 2: pooled vCPU threads on /dev/kvm');
const fds = () => fs.readdirSync('/proc/self/fd').length;

describe.skipIf(!canRun)('pooled vCPU threads on /dev/kvm', () => {
  let guest: string;
  beforeAll(async () => {
    guest = (await buildGuests())['pvh-info']!;
  }, 300_000);

  /** Boot the pvh-info guest with `cpus` vCPUs to its first line and its poweroff; dispose it. */
  async function bootToEnd(cpus: number): Promise<void> {
    const vm = await Vmm.builder()
      .kernel(guest)
      .cpus(cpus)
      .memory('128M')
      .rng()
      .console({ capture: true })
      .start();
    await vm.console.waitFor(/^START_INFO /m, { timeoutMs: 60_000 });
    expect((await vm.exited).outcome).toBe('poweroff');
    await vm.dispose();
  }

  it('the next VM takes loaded threads, one per vCPU and none for its rng’s kicks; the pool refills; nothing is left open', async () => {
    await releaseWarmThreads();
    const before = fds();
    await bootToEnd(2);
    await vi.waitFor(() => expect(warmThreadStats().idleLoaded).toBe(2), { timeout: 30_000, interval: 20 });
    const s0 = warmThreadStats();
    await bootToEnd(2);
    const s1 = warmThreadStats();
    expect(s1.takenLoaded - s0.takenLoaded).toBe(2);
    expect(s1.takenLoading + s1.takenCold).toBe(s0.takenLoading + s0.takenCold);
    expect(s1.failed).toBe(0);
    await vi.waitFor(() => expect(warmThreadStats().idle).toBe(2), { timeout: 30_000, interval: 20 });
    await releaseWarmThreads();
    await vi.waitFor(() => expect(fds()).toBe(before), { timeout: 5000 });
    // Four boots' worth of time: inside the nested-KVM VM (TCG) two boots took 58 s.
  }, 240_000);
});
