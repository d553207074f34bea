// Host programs the test-VM tooling runs, looked up when asked: `pnpm demo` installs them
// (tools/setup/system-deps.sh) after its modules are loaded, so nothing here is decided at import.
import { spawnSync } from 'node:child_process';

export const QEMU = 'qemu-system-x86_64';

/** Whether `command --version` runs here now (on $PATH and executable). */
export function commandWorks(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** QEMU, the reference monitor and the nested-KVM tier's emulator, is installed now. */
export function qemuInstalled(): boolean {
  return commandWorks(QEMU);
}
