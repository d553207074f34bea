// The check every test in test/kvm/ starts with: a usable /dev/kvm, or one loud SKIP line.
import { probe } from '../../src/probe';

const host = probe();
export const kvmUsable = host.present && host.accessible && host.problems.length === 0;
export const whyNot = host.problems[0]?.problem ?? 'no usable /dev/kvm';

export function announceSkip(what: string): void {
  if (!kvmUsable) console.warn(`SKIP (no usable /dev/kvm: ${whyNot}): ${what}`);
}
