// Tier 2: the VM's lifecycle on /dev/kvm through the library handle, with the `lifecycle` test
// guest (it prints "COUNT n" every 100 ms): pause stops the count and resume goes on from it,
// reboot starts the guest over, the ACPI power button runs the guest's handler and it powers off;
// a call in the wrong state is refused and changes nothing. One VM, one run.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { Vmm, VmmError, type Vm, type VmState } from '../../src/index';
import { kvmUsable } from '../support/kvm-available';

const canRun = kvmUsable('tier 2: VM lifecycle (pause, resume, reboot, power button) on /dev/kvm');

/** The COUNT values printed so far, in order. */
function counts(vm: Vm): number[] {
  return [...vm.console.output.matchAll(/^COUNT (\d+)$/gm)].map((m) => Number(m[1]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!canRun)('the VM lifecycle on /dev/kvm', () => {
  let guest: string;
  beforeAll(async () => {
    guest = (await buildGuests())['lifecycle']!;
  }, 300_000);

  it('pause stops the count, resume goes on from it; reboot starts over; the power button powers off', async () => {
    const vm = await Vmm.builder().kernel(guest).cpus(2).memory('128M').console({ capture: true }).start();
    try {
      const states: VmState[] = [];
      vm.on('state', (s) => states.push(s));
      await vm.console.waitFor(/^COUNT 3\n/m, { timeoutMs: 60_000 });

      await expect(vm.resume()).rejects.toMatchObject({ code: 'EVMSTATE' });
      await vm.pause();
      expect(vm.state).toBe('paused');
      await sleep(300); // a line written just before the vCPU parked is still crossing the pipe
      const atPause = counts(vm);
      await sleep(1500); // 15 counts' worth of time
      expect(counts(vm)).toEqual(atPause);
      await expect(vm.pause()).rejects.toMatchObject({ code: 'EVMSTATE' });
      await expect(vm.powerButton()).rejects.toBeInstanceOf(VmmError);

      await vm.resume();
      expect(vm.state).toBe('running');
      const last = atPause[atPause.length - 1]!;
      await vm.console.waitFor(new RegExp(`^COUNT ${last + 2}\\n`, 'm'), { timeoutMs: 30_000 });
      const after = counts(vm);
      expect(after.slice(0, atPause.length)).toEqual(atPause);
      expect(after.slice(atPause.length, atPause.length + 2)).toEqual([last + 1, last + 2]);

      // Pause and resume at once, several times: each answers, nothing is lost.
      for (let i = 0; i < 5; i++) {
        await vm.pause();
        await vm.resume();
      }
      const n = counts(vm).length;
      await vm.console.waitFor(/^COUNT \d+\n/m, { timeoutMs: 30_000, fromNow: true });
      const seq = counts(vm);
      expect(seq.length).toBeGreaterThan(n);
      expect(seq).toEqual(seq.map((_, i) => i + 1)); // 1, 2, 3, ... with no gap or repeat

      await vm.reboot();
      await vm.console.waitFor(/LIFECYCLE-READY\n(?:.*\n)*?COUNT 1\n/, { timeoutMs: 60_000, fromNow: true });

      await vm.powerButton();
      await vm.console.waitFor(/^POWER-BUTTON\n/m, { timeoutMs: 30_000 });
      const exit = await vm.exited;
      expect(exit.outcome).toBe('poweroff');
      expect(exit.reboots).toBe(1);
      const pauses = Array.from({ length: 6 }, () => ['paused', 'running']).flat();
      expect(states).toEqual([...pauses, 'stopped']);
    } finally {
      await vm.dispose();
    }
  }, 240_000);
});
