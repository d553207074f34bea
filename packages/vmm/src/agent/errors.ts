// The agent client's one error class. `code` is either the guest's errno name ('ENOENT',
// 'ECONNREFUSED', with `errno` its Linux number and `guestMessage` the agent's own sentence), or one
// of the client's own codes below.
import { linuxErrnoName } from './linux-errno';

export type AgentOp = 'exec' | 'copyIn' | 'copyOut' | 'connect' | 'agent';

export type AgentClientCode =
  /** The agent sent something the protocol does not allow. */
  | 'AGENT_PROTOCOL'
  /** No stream to the agent could be opened (the open() given to AgentClient failed). */
  | 'AGENT_UNREACHABLE'
  /** The stream ended or failed before the operation finished. */
  | 'AGENT_DISCONNECTED'
  /** The request cannot be encoded (an argument over a protocol cap, a NUL in a string). */
  | 'AGENT_BAD_REQUEST'
  /** The caller aborted the operation (its `signal` option). */
  | 'AGENT_ABORTED'
  /** The guest did not report the end of an operation within its timeoutMs and the grace after it. */
  | 'AGENT_TIMEOUT'
  /** A copyOut brought more than its maxBytes. */
  | 'AGENT_TOO_LARGE'
  /** No agent binary: not built, or no compiler to build it. */
  | 'AGENT_BINARY_MISSING';

export class AgentError extends Error {
  override readonly name = 'AgentError';
  readonly code: string;
  readonly op: AgentOp;
  /** The guest's errno (Linux numbering) for an error the agent reported. */
  readonly errno: number | undefined;
  /** The agent's message for an error it reported. */
  readonly guestMessage: string | undefined;

  constructor(
    code: AgentClientCode | string,
    op: AgentOp,
    message: string,
    options: { errno?: number; guestMessage?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.op = op;
    this.errno = options.errno;
    this.guestMessage = options.guestMessage;
  }
}

/** What to do about the common errors, appended to the message. */
const HINTS: Record<string, string> = {
  ENOENT: 'check that the path, program or host name exists in the guest',
  EACCES: 'check the permissions in the guest',
  EPERM: 'check the permissions in the guest',
  ECONNREFUSED: 'nothing listens on that address and port, as seen from inside the guest',
  EHOSTUNREACH: "check the guest's network configuration and routes",
  ENETUNREACH: "check the guest's network configuration and routes",
  ETIMEDOUT: 'the peer did not answer in time: check that it is reachable from the guest',
  EPROTONOSUPPORT:
    'the agent in the guest is another version than this client: put this package’s agent in the guest',
  EPROTO: 'this is a bug in the client or the agent; the agent logs the details on its stderr',
};

/** Hints that only hold for a CONNECT: there EAGAIN means the name could not be looked up. */
const CONNECT_HINTS: Record<string, string> = {
  EAGAIN: "the guest could not reach a DNS server: check the guest's /etc/resolv.conf and network",
};

/** An ERROR frame from the agent as an AgentError. */
export function guestError(op: AgentOp, errno: number, guestMessage: string, what: string): AgentError {
  const name = linuxErrnoName(errno);
  const hint = (op === 'connect' ? CONNECT_HINTS[name] : undefined) ?? HINTS[name];
  return new AgentError(
    name,
    op,
    `${what} failed in the guest: ${guestMessage} (${name})${hint ? `; ${hint}` : ''}`,
    { errno, guestMessage },
  );
}

export function disconnected(op: AgentOp, cause?: unknown): AgentError {
  const why = cause instanceof Error ? `: ${cause.message}` : '';
  return new AgentError(
    'AGENT_DISCONNECTED',
    op,
    `the connection to the guest agent ended before ${op} finished${why}; check that the VM and its agent are still running`,
    { cause },
  );
}

export function unreachable(op: AgentOp, cause: unknown): AgentError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new AgentError(
    'AGENT_UNREACHABLE',
    op,
    `cannot open a stream to the guest agent for ${op}: ${why}; check that the VM is running and its agent listens (vsock port 1024)`,
    { cause },
  );
}

export function badRequest(op: AgentOp, why: string): AgentError {
  return new AgentError('AGENT_BAD_REQUEST', op, `cannot send this ${op} request to the guest agent: ${why}`);
}

export function protocolError(op: AgentOp, why: string): AgentError {
  return new AgentError(
    'AGENT_PROTOCOL',
    op,
    `the guest agent broke the protocol during ${op}: ${why}; the agent and this client may be different versions`,
  );
}
