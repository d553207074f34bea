// The check every test in test/kvm/ starts with: a usable /dev/kvm, or one loud SKIP line.
import { probe } from '../../src/probe';

const host = probe();
export const kvmUsable = host.present && host.accessible && host.problems.length === 0;
// kvm_pvm emulates the guest on the host's own TSC and counts no I/O exits: what differs is asserted apart.
export const softwareEmulated = host.virtualization === 'software-emulated';
export const whyNot = host.problems[0]?.problem ?? 'no usable /dev/kvm';

export function announceSkip(what: string): void {
  if (!kvmUsable) console.warn(`SKIP (no usable /dev/kvm: ${whyNot}): ${what}`);
}
