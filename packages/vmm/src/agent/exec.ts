// AgentClient.exec: EXEC (agent/protocol.h) on a stream of its own. The command's stdin is sent in
// STDIN frames as fast as the stream takes them; stdout and stderr come back apart, go to the
// callbacks as they arrive and are kept up to a cap each.
import type { Duplex, Readable } from 'node:stream';
import { OutputCapture } from './capture';
import { FrameChannel } from './channel';
import { guestError, protocolError } from './errors';
import { abortWith, abortedError, hostDeadline, timeoutGrace } from './guards';
import { linuxSignalName } from './linux-signals';
import {
  DATA_CHUNK,
  T_ERROR,
  T_EXEC,
  T_EXIT,
  T_OK,
  T_STDERR,
  T_STDIN,
  T_STDIN_EOF,
  T_STDOUT,
  decodeError,
  decodeExecOk,
  decodeExit,
  encodeExec,
} from './protocol';

/** The default cap on each of stdout and stderr kept in an ExecResult. */
export const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;

export interface ExecOptions {
  /** Added to the default environment (PATH, HOME=/root), replacing entries of the same name. */
  env?: Record<string, string>;
  /** Start from an empty environment instead of the default one. */
  replaceEnv?: boolean;
  /** The working directory in the guest (default "/"). */
  cwd?: string;
  /** The command's stdin, then end of file; none: end of file at once. A stream is read to its end (or
      until the command exits, then destroyed). */
  stdin?: string | Uint8Array | Readable;
  /** Kill the command's whole process group after this many milliseconds (timedOut in the result). */
  timeoutMs?: number;
  /** With timeoutMs: how much longer the host waits for the guest to report the end before exec
      rejects with AGENT_TIMEOUT and closes the stream (a wedged guest, or an agent that does not
      kill); default 10 000 ms. */
  timeoutGraceMs?: number;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Bytes of stdout and of stderr kept in the result (default 64 MiB each); the callbacks see all. */
  maxOutputBytes?: number;
  /** Aborting closes the stream: the agent kills the process group, exec rejects with AGENT_ABORTED. */
  signal?: AbortSignal;
}

export interface ExecResult {
  /** The exit code, or null when a signal ended the command. */
  code: number | null;
  /** 'SIGKILL', 'SIGTERM', ... or null. */
  signal: string | null;
  /** The agent killed the command (SIGKILL to its process group) because timeoutMs ran out. */
  timedOut: boolean;
  stdout: Buffer;
  stderr: Buffer;
  /** More than maxOutputBytes came on stdout / stderr; the result holds the first maxOutputBytes. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** The command's pid in the guest, also its process group id. */
  pid: number;
}

export async function runExec(
  open: () => Promise<Duplex>,
  argv: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const request = encodeExec({
    argv,
    env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
    replaceEnv: opts.replaceEnv ?? false,
    cwd: opts.cwd ?? '',
    timeoutMs: opts.timeoutMs ?? 0,
  });
  const what = `exec of '${argv[0]}'`;
  const grace = timeoutGrace('exec', opts.timeoutGraceMs);
  if (opts.signal?.aborted) throw abortedError('exec', what);
  const ch = await FrameChannel.open(open, 'exec');
  const stopAbort = abortWith(ch, opts.signal, 'exec', what);
  const disarm = hostDeadline(ch, opts.timeoutMs, grace, 'exec', what);
  let finished = false;
  try {
    await ch.send(T_EXEC, request);
    const first = await ch.next();
    if (first.type === T_ERROR) {
      const e = decodeError('exec', first.payload);
      throw guestError('exec', e.errno, e.message, what);
    }
    if (first.type !== T_OK)
      throw protocolError('exec', `frame type 0x${first.type.toString(16)} instead of OK`);
    const pid = decodeExecOk(first.payload);

    sendStdin(ch, opts.stdin, () => finished).catch((e: unknown) => {
      if (!finished) ch.destroy(e instanceof Error ? e : new Error(String(e)));
    });
    const limit = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const stdout = new OutputCapture(limit);
    const stderr = new OutputCapture(limit);
    for (;;) {
      const f = await ch.next();
      if (f.type === T_STDOUT) {
        stdout.add(f.payload);
        opts.onStdout?.(f.payload);
      } else if (f.type === T_STDERR) {
        stderr.add(f.payload);
        opts.onStderr?.(f.payload);
      } else if (f.type === T_EXIT) {
        const exit = decodeExit(f.payload);
        finished = true;
        return {
          code: exit.code,
          signal: exit.signal === null ? null : linuxSignalName(exit.signal),
          timedOut: exit.timedOut,
          stdout: stdout.result(),
          stderr: stderr.result(),
          stdoutTruncated: stdout.truncated,
          stderrTruncated: stderr.truncated,
          pid,
        };
      } else if (f.type === T_ERROR) {
        const e = decodeError('exec', f.payload);
        throw guestError('exec', e.errno, e.message, what);
      } else {
        throw protocolError('exec', `frame type 0x${f.type.toString(16)} while the command runs`);
      }
    }
  } finally {
    finished = true;
    stopAbort();
    disarm();
    ch.destroy();
  }
}

/** STDIN frames of at most DATA_CHUNK bytes, then STDIN_EOF; stops once the command is done. */
async function sendStdin(ch: FrameChannel, stdin: ExecOptions['stdin'], done: () => boolean): Promise<void> {
  const send = async (data: Uint8Array): Promise<void> => {
    for (let off = 0; off < data.length && !done(); off += DATA_CHUNK) {
      await ch.send(T_STDIN, data.subarray(off, off + DATA_CHUNK));
    }
  };
  if (typeof stdin === 'string') {
    await send(Buffer.from(stdin, 'utf8'));
  } else if (stdin instanceof Uint8Array) {
    await send(stdin);
  } else if (stdin !== undefined) {
    for await (const chunk of stdin as AsyncIterable<Buffer | string>) {
      if (done()) break;
      await send(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    }
  }
  if (!done()) await ch.send(T_STDIN_EOF);
}
