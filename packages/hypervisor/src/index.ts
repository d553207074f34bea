export type * from './types';
export * from './errors';
export { KvmHypervisor } from './kvm/hypervisor';
export { KvmVm, KVM_IDENTITY_MAP_ADDR, KVM_TSS_ADDR } from './kvm/vm';
export { KvmVcpu, attachKvmVcpu, type KvmVcpuHandle } from './kvm/vcpu';
export { VcpuStateError, type KvmVcpuStateSupport } from './kvm/vcpu-state';
export { MachineStateError } from './kvm/vm-state';
export {
  decodeHypervisorState,
  encodeHypervisorState,
  StateDecodeError,
  StateEncodeError,
  STATE_FORMAT_VERSION,
  type HypervisorState,
  type StateDecodeErrorCode,
} from './kvm/state-codec';
export { EventfdNotifier } from './kvm/event-notifier';
export { createHostNotifier } from './host-notifier';
export { createHostPipe, setNonBlocking, type HostPipe } from './host-pipe';
export { MemfdGuestMemory, attachGuestMemory, type HostRange } from './memory/memfd-guest-memory';
export { MappedGuestMemory, MAX_VIEW_BYTES } from './memory/mapped-guest-memory';
export {
  MemoryFileError,
  verifyMemoryFile,
  writeMemoryFile,
  type MemoryFileSummary,
} from './memory/memory-file';
export { crc32Hex } from './memory/image-crc';
export { ArrayGuestMemory } from './memory/array-guest-memory';
export { HostBuffer } from './memory/host-buffer';
export { MemoryLayoutError, PAGE_SIZE } from './memory/layout';
export { probe, queryKvmDevice, type KvmQuery, type ProbeOptions, type ProbeRoots } from './probe';
export { installSeccomp, SeccompError } from './sys/seccomp/install';
export { buildSeccompFilter, type SeccompMode, type SeccompPolicy } from './sys/seccomp/filter';
export { X86_64_SYSCALLS, syscallName, type SyscallName } from './sys/seccomp/syscalls-x86_64';
export { fsAt, fsErrno, cString, type FsAt } from './sys/fs-at';
export { OfdLock } from './sys/ofd-lock';
export * as fsConst from './sys/fs-constants';
export { loadBuiltin } from './sys/builtin';
export { raiseFdLimit, openFdCount, type FdLimit } from './sys/fd-limit';
export * as fsLayout from './sys/fs-layout';
export { pollTable } from './sys/poll-table';
