// Vm.pause() in a reboot's gap, on the scripted vCPU backend (stands in for KVM: runs on hosts
// without it): the pause is asked for as the old boot's VM closes (its vCPUs are gone, the next
// boot's not yet there), and the error says so instead of "it ended".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MemoryLayout, VirtualMachine } from '@vmm/hypervisor';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuests } from '../../../../test-vms/src/guests/build';
import { Vm } from '../../src/library/vm';
import { ScriptedHypervisor } from '../support/scripted-hypervisor';
import { hostProbe, poweroff, scriptedConfig } from '../support/scripted-vmm';

/** Calls `onClosed(n)` once boot n's VM is closed (n = 0 for the first boot). */
class WatchedHypervisor extends ScriptedHypervisor {
  onClosed: (n: number) => void = () => {};
  override createVm(layout: MemoryLayout): VirtualMachine {
    const n = this.vms.length;
    const vm = super.createVm(layout);
    const close = vm.close.bind(vm);
    vm.close = () => {
      close();
      this.onClosed(n);
    };
    return vm;
  }
}

describe('Vm.pause() between two boots', () => {
  let kernel: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-pause-gap-'));
  beforeAll(async () => {
    kernel = (await buildGuests())['pvh-info']!;
  }, 300_000);

  it('says the VM is between two boots, and the VM goes on to its next boot', async () => {
    // Boot 0: the vCPUs wait (no script) until reboot() stops them; boot 1 powers off.
    const hv = new WatchedHypervisor([[], [[poweroff]]]);
    const vm = await Vm.start(scriptedConfig(kernel, dir, { cpus: { boot: 1 } }), {
      hypervisor: hv,
      probe: hostProbe,
    });
    let paused: Promise<unknown> | undefined;
    hv.onClosed = (n) => {
      if (n === 0)
        paused = vm.pause().then(
          () => 'paused',
          (e: unknown) => e,
        );
    };
    await vm.reboot();
    const exit = await vm.exited;
    expect(paused).toBeDefined();
    expect(await paused).toMatchObject({
      code: 'EVMSTATE',
      message: expect.stringMatching(/between two boots/),
    });
    expect(exit).toMatchObject({ outcome: 'poweroff', reboots: 1 });
  }, 60_000);
});
