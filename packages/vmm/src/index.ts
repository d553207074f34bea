// @vmm/vmm: the library. Cloud Hypervisor's REST API (server, controller, client) is
// @vmm/vmm/api and the guest agent's client class @vmm/vmm/agent: a program that boots a VM never
// loads node:http, and one without the agent never loads its client.
export * from './config';
export {
  Vmm,
  GuestError,
  type VmmOptions,
  type RunResult,
  type VmmRestoreOptions,
  type VmmCounters,
} from './machine/vmm';
export type { DeviceCounters } from './machine/virtio-devices';
export { BootFileError, readBootFiles } from './machine/boot-files';
export { hostQuirks } from './arch/x86_64/index';
export { Uart16550, createUartState, COM1_PORT, COM1_IRQ } from './devices/uart/uart16550';
export { PioBus, type PioDevice } from './devices/pio-bus';
export { instructionBytes } from './vcpu/exit-loop';
export type { StopReason } from './vcpu/protocol';
export type { EarlyRunReport } from './vcpu/early-run';
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
export type { SnapshotSummary } from './snapshot/store';
export { SNAPSHOT_VERSION } from './snapshot/version';
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
// --restore's parser (also in @vmm/vmm/api), for a command line that restores without the API.
export { restoreFromCh, type RestoreRequest } from './api/snapshot-config';
// The guest agent's client is loaded with a VM that has the agent; its class, for a client of
// your own (over a Unix socket, say), is in @vmm/vmm/agent.
export type { AgentClient, OpenAgentStream } from './agent/client';
export { AgentError, type AgentClientCode, type AgentOp } from './agent/errors';
export type { ExecOptions, ExecResult } from './agent/exec';
export type { CopyInOptions } from './agent/copy-in';
export type { CopyOutOptions } from './agent/copy-out';
export type { ConnectOptions } from './agent/connect';
export { VSOCK_PORT as AGENT_VSOCK_PORT } from './agent/protocol';
export { startSocks5, type Socks5Options, type Socks5Server, type GuestConnect } from './library/socks5';
export { startForward, type Forward, type ForwardOptions } from './library/forward';
export { splitHostPort } from './net-relay/tcp-listener';
