export * from './config';
export { Vmm, GuestError, type VmmOptions, type RunResult, type VmmCounters } from './machine/vmm';
export type { DeviceCounters } from './machine/virtio-devices';
export { BootFileError, readBootFiles } from './machine/boot-files';
export { hostQuirks } from './arch/x86_64/index';
export { Uart16550, createUartState, COM1_PORT, COM1_IRQ } from './devices/uart/uart16550';
export { PioBus, type PioDevice } from './devices/pio-bus';
export { instructionBytes } from './vcpu/exit-loop';
export type { StopReason } from './vcpu/protocol';
export { rateLimitedLog } from './log/rate-limited';
export {
  releaseWarmThreads,
  warmThreadStats,
  warmThreads,
  type WarmThreadOptions,
  type WarmThreadStats,
} from './io/worker-pool';
export { VmmError } from '@vmm/hypervisor';
export { SnapshotError } from './snapshot/errors';
export { type SnapshotSummary } from './snapshot/store';
export { SNAPSHOT_VERSION } from './snapshot/manifest';
export { VmBuilder, type ConsoleOptions } from './library/builder';
export {
  Vm,
  type VmState,
  type VmExit,
  type VmEvents,
  type VmStartOptions,
  type VmRestoreOptions,
  type ShutdownOptions,
} from './library/vm';
export { ConsoleCapture, type WaitForOptions } from './library/console-capture';
export { parseByteSize } from './size';
export * from './agent/index';
export { startSocks5, type Socks5Options, type Socks5Server, type GuestConnect } from './library/socks5';
export { startForward, type Forward, type ForwardOptions } from './library/forward';
export { splitHostPort } from './net-relay/tcp-listener';
export * from './api/index';
