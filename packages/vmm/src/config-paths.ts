// A VmConfig's host paths made absolute when the VM is made: a snapshot keeps its config, and a
// restore in a process with another working directory must open the same files, not others of
// the same name (a disk image there would take the guest's writes).
import path from 'node:path';
import type { SerialConfig, VmConfig } from './config';

/** `config` with every host path resolved against `cwd` (the process's, by default). */
export function withAbsolutePaths(config: VmConfig, cwd = process.cwd()): VmConfig {
  const abs = (p: string): string => path.resolve(cwd, p);
  const output = (s: SerialConfig): SerialConfig => (s.mode === 'file' ? { ...s, path: abs(s.path) } : s);
  const out: VmConfig = { ...config, kernel: abs(config.kernel), serial: output(config.serial) };
  if (config.initrd !== undefined) out.initrd = abs(config.initrd);
  if (config.console) out.console = output(config.console);
  if (config.disks) out.disks = config.disks.map((d) => ({ ...d, path: abs(d.path) }));
  if (config.shares) out.shares = config.shares.map((s) => ({ ...s, path: abs(s.path) }));
  if (config.vsock?.socket !== undefined) out.vsock = { ...config.vsock, socket: abs(config.vsock.socket) };
  return out;
}
