// The library's device counters in the form of Cloud Hypervisor's vm.counters (VmCounters): an
// object per device, each an object of integer counters, then KVM's (kvm, vcpu0, vcpu1, ...). Devices are named by kind and their
// order among that kind (blk0, blk1, net0, console0, rng0, vsock0): Cloud Hypervisor names them by
// their configured id, which our configs do not have.
import type { VmmCounters } from '../machine/vmm';

export type ChCounters = Record<string, Record<string, number>>;

export function countersToCh(counters: VmmCounters): ChCounters {
  const out: ChCounters = {};
  const seen = new Map<string, number>();
  for (const d of counters.devices) {
    const kind = d.kind.replace(/^virtio-/, '').replace(/\s+/g, '-');
    const n = seen.get(kind) ?? 0;
    seen.set(kind, n + 1);
    const values: Record<string, number> = { ...d.stats, needs_reset: d.needsReset };
    for (const [k, v] of Object.entries(d.nat ?? {})) values[`nat_${k}`] = v;
    out[`${kind}${n}`] = values;
  }
  // KVM's own counters: the VM's as `kvm`, each vCPU's as vcpu0, vcpu1, ... (no device is named so).
  if (counters.kvm) {
    out.kvm = { ...counters.kvm.vm };
    counters.kvm.vcpus.forEach((v, i) => (out[`vcpu${i}`] = { ...v }));
  }
  return out;
}
