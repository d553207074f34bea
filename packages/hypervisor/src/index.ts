export type * from './types';
export * from './errors';
export { KvmHypervisor } from './kvm/hypervisor';
export { KvmVm, KVM_IDENTITY_MAP_ADDR, KVM_TSS_ADDR } from './kvm/vm';
export { KvmVcpu, attachKvmVcpu, type KvmVcpuHandle } from './kvm/vcpu';
export { EventfdNotifier } from './kvm/event-notifier';
export {
  MemfdGuestMemory,
  attachGuestMemory,
  type GuestMemoryHandle,
  type HostRange,
} from './memory/memfd-guest-memory';
export { MappedGuestMemory, MAX_VIEW_BYTES } from './memory/mapped-guest-memory';
export { ArrayGuestMemory } from './memory/array-guest-memory';
export { MemoryLayoutError, PAGE_SIZE } from './memory/layout';
export { probe, queryKvmDevice, type KvmQuery, type ProbeOptions, type ProbeRoots } from './probe';
