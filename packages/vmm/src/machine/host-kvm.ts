// The host side a VM needs from this machine: /dev/kvm opened, and the kernel command-line
// quirks of its kind of virtualization. The full probe (cpuinfo, modules, every capability on a
// second open of /dev/kvm) runs only when it has something to say: when /dev/kvm cannot be used
// (its problem and fix are the error) and when a Linux kernel is about to boot (its quirks).
import {
  HypervisorUnavailableError,
  KvmHypervisor,
  probe,
  type Hypervisor,
  type ProbeResult,
} from '@vmm/hypervisor';
import { applyHostQuirks, describeHostQuirks, hostQuirks } from '../arch/x86_64/index';

/**
 * /dev/kvm, or the probe's first problem as the error (ENOKVM). `given` is a probe a test made:
 * its problems are reported as this host's.
 */
export function openKvm(given?: ProbeResult): Hypervisor {
  if (given) throwProblem(given);
  try {
    return new KvmHypervisor();
  } catch (e) {
    // Opening checks what the probe checks (the device, its API version, every capability): a
    // failure there has a problem in the probe, with the fix a user can act on.
    if (e instanceof HypervisorUnavailableError) throwProblem(probe());
    throw e;
  }
}

function throwProblem(host: ProbeResult): void {
  if (host.present && host.accessible && host.problems.length === 0) return;
  const p = host.problems[0];
  throw new HypervisorUnavailableError(
    'ENOKVM',
    p ? `${p.problem}; ${p.fix}` : 'KVM is not usable on this host (run vmm doctor)',
  );
}

/** `cmdline` with this host's quirks (a Linux kernel's), and the notice saying which, if any. */
export function withHostQuirks(cmdline: string, given?: ProbeResult): { cmdline: string; notice?: string } {
  const quirks = hostQuirks((given ?? probe()).virtualization);
  if (quirks.length === 0) return { cmdline };
  return {
    cmdline: applyHostQuirks(cmdline, quirks),
    notice: `${describeHostQuirks(quirks)} (--host-quirks off to stop)`,
  };
}
