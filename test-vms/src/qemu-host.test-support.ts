// What the QEMU-based tests need from this host, decided once: the reference monitor, the guest
// compiler, and whether QEMU can use /dev/kvm (else it runs under TCG).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export const QEMU = 'qemu-system-x86_64';
export const hasQemu = spawnSync(QEMU, ['--version']).status === 0;
export const hasGcc = spawnSync('gcc', ['--version']).status === 0;

/** /dev/kvm exists and this user may open it read-write: QEMU gets -enable-kvm. */
export const qemuCanUseKvm = ((): boolean => {
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
})();

/**
 * QEMU's accelerator flags here. With KVM, `-cpu host` (minus arch-capabilities: MSR 0x10a fails
 * on software-emulated KVM): QEMU's default qemu64 model is an AMD CPU without XSAVEERPTR, for
 * which Linux takes its FXSAVE-leak workaround (fnclex; emms; fildl), and fnclex is not emulated
 * by software-emulated KVM (an internal error).
 */
export const qemuAccel: readonly string[] = qemuCanUseKvm
  ? ['-enable-kvm', '-cpu', 'host,-arch-capabilities']
  : [];

/**
 * QEMU's accelerator for booting the test Linux kernel as a reference: always TCG. The Linux
 * guest under TCG reaches its shell in seconds; under software-emulated KVM it takes a minute,
 * and the KVM-specific paths (the kernel's patches, our monitor) are what the tier-4 tests under
 * `vmm run` prove. The small C guests use `qemuAccel` (KVM where usable).
 */
export const qemuLinuxAccel: readonly string[] = ['-accel', 'tcg'];
