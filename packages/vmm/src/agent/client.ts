// The host side of the guest agent (packages/vmm/agent/): each operation opens a stream of its own
// with `open` (a vsock connection to the guest's port VSOCK_PORT, or a Unix socket to an agent run
// on the host) and speaks agent/protocol.h on it. Operations run concurrently, one stream each.
import type { Duplex } from 'node:stream';
import { runConnect, type ConnectOptions } from './connect';
import { runCopyIn, type CopyInOptions } from './copy-in';
import { runCopyOut, type CopyOutOptions } from './copy-out';
import { runExec, type ExecOptions, type ExecResult } from './exec';

export type OpenAgentStream = () => Promise<Duplex>;

export class AgentClient {
  constructor(private readonly open: OpenAgentStream) {}

  /** Runs argv[0] (searched in the command's PATH) in the guest; see ExecOptions. Rejects with an
      AgentError (ENOENT, EACCES, ...) when the command cannot be started at all. */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return runExec(this.open, argv, opts);
  }

  /** Copies a host file to the guest (created or truncated, any size, streamed). */
  copyIn(hostPath: string, guestPath: string, opts?: CopyInOptions): Promise<void> {
    return runCopyIn(this.open, hostPath, guestPath, opts);
  }

  /** Copies a guest file to the host (streamed); the host file is removed again if the copy fails.
      See CopyOutOptions.maxBytes for a guest you do not trust. */
  copyOut(guestPath: string, hostPath: string, opts?: CopyOutOptions): Promise<void> {
    return runCopyOut(this.open, guestPath, hostPath, opts);
  }

  /** A TCP connection opened from inside the guest (a host name resolved there, or an IP literal),
      as a raw byte stream once it is up. */
  connect(host: string, port: number, opts?: ConnectOptions): Promise<Duplex> {
    return runConnect(this.open, host, port, opts);
  }
}
