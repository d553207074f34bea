// What the QEMU-based tests need from this host, decided once when a test file loads (the set-up
// has run by then): the reference monitor, the guest compiler, and whether QEMU can use /dev/kvm
// (else it runs under TCG). Tools outside the tests ask host-tools.ts when they need to know.
import fs from 'node:fs';
import { QEMU, commandWorks, qemuInstalled } from './host-tools';

export { QEMU };
export const hasQemu = qemuInstalled();
export const hasGcc = commandWorks('gcc');

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
