// Tier 4: the minimal Linux kernel from test-vms under `vmm run` on /dev/kvm. Boots are slow on
// software-emulated KVM (~40 s), so each boot carries many checks, one script per boot: the
// machine, its reboot path, and a snapshot of the shell restored in a new process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleProcess } from '../support/console-process';
import { bootLinuxGuest, linuxGuestAssets, type LinuxGuestAssets } from '../support/linux-guest';
import { kvmUsable, NESTED_VM } from '../support/kvm-available';
import { snapshotIntoNewProcess } from '../support/snapshot-restore';

const canRun = kvmUsable('tier 4: Linux guests on /dev/kvm');
const BOOT_MS = 240_000;
/**
 * Inside the nested-KVM VM the rebooted guest of this test stalled in 1 of 4 runs: vCPU 0 ran on
 * with the nested host's own registers from its VMRUN (QEMU 7.2's AMD-V emulation under TCG swapped
 * the contexts), without an exit. Skipped there, loudly; docs/testing.md has the evidence.
 */
if (canRun && NESTED_VM) {
  console.log(
    'SKIP tier 4: the reboot step of the minimal Linux guest test inside the nested-KVM VM (an emulator bug there: the AMD-V of QEMU under TCG; see docs/testing.md)',
  );
}

describe.skipIf(!canRun)('the minimal Linux guest under vmm run', () => {
  let assets: LinuxGuestAssets;
  beforeAll(async () => {
    assets = await linuxGuestAssets();
  }, 1_800_000);

  const boot = (...args: string[]) => bootLinuxGuest(assets, ...args);

  it(
    `2 vCPUs, 256M: VMM-READY, nproc, no VMX/SVM, meminfo, ACPI accepted; ${NESTED_VM ? 'no reboot (skipped in the nested-KVM VM)' : 'reboot -f boots a fresh VM'}; a snapshot of the shell restored in a new process answers; poweroff -f exits 0`,
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-linux-snap-'));
      const socket = path.join(dir, 'api.sock');
      const p = boot('--cpus', 'boot=2', '--api-socket', `path=${socket}`);
      let restored: ConsoleProcess | undefined;
      try {
        await p.waitFor(/VMM-READY/, BOOT_MS);
        const from = p.out.length;
        // The console echoes what we type; the patterns below match only the commands' output.
        p.send(
          'echo NPROC=$(nproc) VIRT=$(grep -cwE "svm|vmx" /proc/cpuinfo); head -n1 /proc/meminfo; dmesg | grep -ciE "acpi (error|warning)" | sed s/^/ACPIERR=/\n',
        );
        await p.waitFor(/ACPIERR=\d+/, 120_000);
        const out = p.out.slice(from);
        expect(out).toMatch(/NPROC=2/);
        // No nested virtualization unless asked for (--cpus nested=on): the guest sees no VMX/SVM.
        expect(out).toMatch(/VIRT=0/);
        const mem = /MemTotal:\s+(\d+) kB/.exec(out);
        expect(Number(mem?.[1])).toBeGreaterThan(200 * 1024);
        expect(Number(mem?.[1])).toBeLessThanOrEqual(256 * 1024);
        expect(out).toMatch(/ACPIERR=0/);
        // reboot=a (the test kernel's command line): the ACPI reset register; the monitor starts a
        // fresh VM from the same configuration. (--no-reboot is proven by the blk-reboot test guest.)
        if (!NESTED_VM) {
          p.send('reboot -f\n');
          await p.waitFor(/VMM-READY/, BOOT_MS);
          expect(p.err).toMatch(/rebooting/);
        }
        p.send('echo NPROC=$(nproc); export MARK=before-snapshot\n');
        await p.waitFor(/NPROC=2/, 120_000);

        // Snapshot the shell, end this process hard, restore in a new one: the shell answers, with
        // its variables, on 2 vCPUs.
        restored = await snapshotIntoNewProcess(p, socket, path.join(dir, 'snap'));
        restored.send('echo RESTORED=$((6*7))-$MARK-$(nproc)\n');
        await restored.waitFor(/RESTORED=42-before-snapshot-2/, 120_000);
        restored.send('poweroff -f\n');
        expect((await restored.exited).code).toBe(0);
      } finally {
        p.kill();
        restored?.kill();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    BOOT_MS * 3,
  );
});
