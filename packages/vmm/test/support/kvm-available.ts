// Whether tiers 2 and 4 can run: a usable /dev/kvm. Prints the one loud line when not.
import { probe } from '@vmm/hypervisor';

/** Inside the nested-KVM VM (docs/testing.md), where everything runs under TCG: seconds a VM start. */
export const NESTED_VM = process.env.VMM_NESTED_HOST === '1';

export function kvmUsable(tier: string): boolean {
  const p = probe();
  const ok = p.present && p.accessible && p.problems.length === 0;
  if (!ok) {
    const why = p.problems[0]?.problem ?? 'no usable /dev/kvm';
    console.warn(`SKIP (${tier} needs /dev/kvm; this host: virtualization=${p.virtualization}, ${why})`);
  }
  return ok;
}
