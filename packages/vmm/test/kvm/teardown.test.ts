// Tier 2: a process that starts and disposes VM after VM (an agent sandbox's life) keeps nothing
// of them: no vCPU's kvm_run mapping, no KVM fd, no KVM thread. A mapping a
// vCPU thread made is the process's: one left behind holds its vCPU, and so the whole KVM VM
// (guest page tables, the kernel's NX recovery thread), until the process ends.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { Vmm } from '../../src/index';
import { kvmUsable, NESTED_VM } from '../support/kvm-available';

const canRun = kvmUsable('tier 2: what disposed VMs leave in the process');

/** What of KVM this process holds: kvm_run mappings, KVM fds, and its threads by name. */
function held() {
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n');
  const fds = fs.readdirSync('/proc/self/fd').map((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '';
    }
  });
  const threads: Record<string, number> = {};
  for (const t of fs.readdirSync('/proc/self/task')) {
    try {
      const name = fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim();
      threads[name] = (threads[name] ?? 0) + 1;
    } catch {
      // ended meanwhile
    }
  }
  return {
    runMappings: maps.filter((l) => l.includes('anon_inode:kvm-vcpu')).length,
    kvmFds: fds.filter((l) => /anon_inode:kvm-(vm|vcpu)/.test(l)).length,
    threads,
  };
}

describe.skipIf(!canRun)('VMs started and disposed one after another in one process', () => {
  let guest: string;
  let dir: string;
  beforeAll(async () => {
    guest = (await buildGuests())['lifecycle']!;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-teardown-'));
  }, 300_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('leave no kvm_run mapping, KVM fd or thread behind, whether disposed running, paused or after a reboot', async () => {
    const disk = path.join(dir, 'disk.img');
    fs.writeFileSync(disk, Buffer.alloc(1 << 20));
    const once = async (i: number) => {
      const vm = await Vmm.builder()
        .kernel(guest)
        .cpus(2)
        .memory('64M')
        .disk({ path: disk })
        .console({ capture: true })
        .start({ timeoutMs: 180_000 });
      try {
        await vm.console.waitFor(/^COUNT 1\n/m, { timeoutMs: 60_000 });
        if (i % 3 === 1) await vm.pause();
        if (i % 3 === 2) await vm.reboot();
      } finally {
        await vm.dispose();
      }
    };
    await once(0); // the worker pool's threads are started by the first VM, and stay
    const before = held();
    expect(before.runMappings).toBe(0);
    expect(before.kvmFds).toBe(0);
    // Each way twice; once inside the nested-KVM VM, where a VM of 2 vCPUs takes ~30 s (TCG).
    const rounds = NESTED_VM ? 3 : 6;
    for (let i = 1; i <= rounds; i++) await once(i);
    const after = held();
    expect(after.runMappings).toBe(0);
    expect(after.kvmFds).toBe(0);
    // The kernel's threads of a KVM VM (kvm-nx-lpage-recovery, where NX huge pages are mitigated)
    // live as long as the VM: none may stay. Node's own threads come and go with its pool.
    const kvmThreads = (t: Record<string, number>) =>
      Object.entries(t).filter(([name]) => name.startsWith('kvm'));
    expect(kvmThreads(after.threads)).toEqual(kvmThreads(before.threads));
  }, 360_000);
});
