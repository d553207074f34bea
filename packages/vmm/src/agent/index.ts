// The guest agent client (the agent itself is packages/vmm/agent/, its protocol agent/protocol.h).
export { AgentClient, type OpenAgentStream } from './client';
export { AgentError, type AgentClientCode, type AgentOp } from './errors';
export { DEFAULT_MAX_OUTPUT, type ExecOptions, type ExecResult } from './exec';
export type { CopyInOptions } from './copy-in';
export type { CopyOutOptions } from './copy-out';
export type { ConnectOptions } from './connect';
export { agentBinaryPath } from './binary-path';
export { VSOCK_PORT as AGENT_VSOCK_PORT } from './protocol';
