// Tier 4: the minimal Linux kernel from test-vms under `vmm run` on /dev/kvm. Boots are slow on
// software-emulated KVM (~40 s), so each boot carries many checks, one script per boot.
import { beforeAll, describe, expect, it } from 'vitest';
import { bootLinuxGuest, linuxGuestAssets, type LinuxGuestAssets } from '../support/linux-guest';
import { kvmUsable } from '../support/kvm-available';

const canRun = kvmUsable('tier 4: Linux guests on /dev/kvm');
const BOOT_MS = 240_000;

describe.skipIf(!canRun)('the minimal Linux guest under vmm run', () => {
  let assets: LinuxGuestAssets;
  beforeAll(async () => {
    assets = await linuxGuestAssets();
  }, 1_800_000);

  const boot = (...args: string[]) => bootLinuxGuest(assets, ...args);

  it(
    '2 vCPUs, 256M: VMM-READY, nproc, meminfo, ACPI accepted; reboot -f boots a fresh VM; poweroff -f exits 0',
    async () => {
      const p = boot('--cpus', 'boot=2');
      await p.waitFor(/VMM-READY/, BOOT_MS);
      const from = p.out.length;
      // The console echoes what we type; the patterns below match only the commands' output.
      p.send(
        'echo NPROC=$(nproc); head -n1 /proc/meminfo; dmesg | grep -ciE "acpi (error|warning)" | sed s/^/ACPIERR=/\n',
      );
      await p.waitFor(/ACPIERR=\d+/, 120_000);
      const out = p.out.slice(from);
      expect(out).toMatch(/NPROC=2/);
      const mem = /MemTotal:\s+(\d+) kB/.exec(out);
      expect(Number(mem?.[1])).toBeGreaterThan(200 * 1024);
      expect(Number(mem?.[1])).toBeLessThanOrEqual(256 * 1024);
      expect(out).toMatch(/ACPIERR=0/);
      // reboot=a (the test kernel's command line): the ACPI reset register; the monitor starts a
      // fresh VM from the same configuration. (--no-reboot is proven by the blk-reboot test guest.)
      p.send('reboot -f\n');
      await p.waitFor(/VMM-READY/, BOOT_MS);
      expect(p.err).toMatch(/rebooting/);
      p.send('echo NPROC=$(nproc)\n');
      await p.waitFor(/NPROC=2/, 120_000);
      p.send('poweroff -f\n');
      expect((await p.exited).code).toBe(0);
    },
    BOOT_MS * 3,
  );
});
