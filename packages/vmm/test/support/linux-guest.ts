// Booting the test-vms Linux guest (kernel, initramfs, recommended command line, 256M) under
// `vmm run` from the sources, with extra flags per test.
import { buildAssets } from '../../../../test-vms/src/assets';
import { guestCmdline, hostTscKhz } from '../../../../test-vms/src/kernel/cmdline';
import { ConsoleProcess, vmmCommand } from './console-process';

export interface LinuxGuestAssets {
  kernel: string;
  initrd: string;
}

/** Build (or find in the cache) the kernel and initramfs. */
export async function linuxGuestAssets(): Promise<LinuxGuestAssets> {
  const a = await buildAssets('kernel');
  return { kernel: a.kernel!, initrd: a.initrd! };
}

export function bootLinuxGuest(assets: LinuxGuestAssets, ...flags: string[]): ConsoleProcess {
  return bootLinuxGuestWith(assets, [], ...flags);
}

/** The same, with `extra` appended to the guest's command line (e.g. `ip=dhcp`). */
export function bootLinuxGuestWith(
  assets: LinuxGuestAssets,
  extra: readonly string[],
  ...flags: string[]
): ConsoleProcess {
  return new ConsoleProcess([
    ...vmmCommand,
    'run',
    '--kernel',
    assets.kernel,
    '--initrd',
    assets.initrd,
    '--memory',
    'size=256M',
    '--cmdline',
    // The TSC frequency on every host: nested KVM under QEMU TCG cannot calibrate it either.
    guestCmdline({ tscKhz: hostTscKhz(), extra }),
    ...flags,
  ]);
}
