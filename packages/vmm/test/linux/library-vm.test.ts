// Tier 4: the library's VM handle boots the test-vms Linux guest in this process (no CLI), one
// boot for every check: start() resolves while the kernel boots, console.waitFor sees VMM-READY,
// console input reaches the guest's shell and its answer comes back as console-line events, the
// guest powers itself off (exit event, outcome poweroff), and no fd of this process is left open.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { guestCmdline, hostTscKhz } from '../../../../test-vms/src/kernel/cmdline';
import { Vmm, type VmExit, type VmState } from '../../src/index';
import { kvmUsable } from '../support/kvm-available';
import { linuxGuestAssets } from '../support/linux-guest';

const canRun = kvmUsable('tier 4: the library VM handle with a Linux guest on /dev/kvm');
const BOOT_MS = 240_000;
const fds = () => fs.readdirSync('/proc/self/fd').length;

describe.skipIf(!canRun)('the library VM handle with a Linux guest', () => {
  it(
    'start, waitFor VMM-READY, a command through the console, poweroff, nothing left open',
    async () => {
      const assets = await linuxGuestAssets();
      const before = fds();
      const states: VmState[] = [];
      const exits: VmExit[] = [];
      const lines: string[] = [];
      const vm = await Vmm.builder()
        .kernel(assets.kernel)
        .initrd(assets.initrd)
        .cmdline(guestCmdline({ tscKhz: hostTscKhz() }))
        .cpus(2)
        .memory('256M')
        .console({ capture: true })
        .start();
      vm.on('state', (s) => states.push(s));
      vm.on('exit', (e) => exits.push(e));
      vm.on('console-line', (l) => lines.push(l));
      expect(vm.state).toBe('running');
      await vm.console.waitFor(/VMM-READY/, { timeoutMs: BOOT_MS });
      vm.console.write('echo "sum=$((40 + 2))"\n');
      await vm.console.waitFor(/sum=42\r?\n/, { timeoutMs: 60_000 });
      expect(lines).toContain('sum=42');
      vm.console.write('poweroff -f\n');
      const exit = await vm.exited;
      expect(exit).toEqual({ outcome: 'poweroff', exitCode: 0, reboots: 0 });
      expect(exits).toEqual([exit]);
      expect(states.at(-1)).toBe('stopped');
      await vm.dispose();
      // Worker threads' own loops close as they exit: give them a moment, then count.
      for (let i = 0; i < 50 && fds() !== before; i++) await new Promise((r) => setTimeout(r, 100));
      expect(fds()).toBe(before);
    },
    BOOT_MS + 120_000,
  );
});
