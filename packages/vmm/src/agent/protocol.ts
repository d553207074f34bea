// The guest agent's wire protocol, mirrored once from packages/vmm/agent/protocol.h, which describes
// every frame and payload; protocol.test.ts compiles that header and checks each value here. Frames
// and payloads are read and written only through this module.
import { badRequest, protocolError, type AgentOp } from './errors';

export const PROTOCOL_VERSION = 1;
export const VSOCK_PORT = 1024;

// Frame header.
export const HEADER_SIZE = 8;
export const HDR_TYPE = 0;
export const HDR_FLAGS = 1;
export const HDR_RESERVED = 2;
export const HDR_LENGTH = 4;

// Frame types: requests, client data (FILE_DATA/FILE_END also from the agent), agent replies.
export const T_EXEC = 0x01;
export const T_COPY_IN = 0x02;
export const T_COPY_OUT = 0x03;
export const T_CONNECT = 0x04;
export const T_STDIN = 0x10;
export const T_STDIN_EOF = 0x11;
export const T_FILE_DATA = 0x12;
export const T_FILE_END = 0x13;
export const T_OK = 0x20;
export const T_STDOUT = 0x21;
export const T_STDERR = 0x22;
export const T_EXIT = 0x23;
export const T_ERROR = 0x24;

// Caps.
export const MAX_PAYLOAD = 1048576;
export const MAX_ARGV = 4096;
export const MAX_ENV = 4096;
export const MAX_PATH = 4096;
export const MAX_HOST = 1024;
export const MAX_MESSAGE = 1024;
export const DATA_CHUNK = 65536;

// Request payloads.
export const REQ_VERSION = 0;
export const EXEC_TIMEOUT_MS = 4;
export const EXEC_FLAGS = 8;
export const EXEC_ARGC = 12;
export const EXEC_ENVC = 16;
export const EXEC_FIXED = 20;
export const EXEC_F_REPLACE_ENV = 0x1;
export const EXEC_F_KNOWN = 0x1;
export const COPY_IN_MODE = 4;
export const COPY_IN_FIXED = 8;
export const COPY_OUT_FIXED = 4;
export const CONNECT_PORT = 4;
export const CONNECT_RESERVED = 6;
export const CONNECT_TIMEOUT_MS = 8;
export const CONNECT_FIXED = 12;

// Reply payloads.
export const OK_EXEC_PID = 0;
export const OK_EXEC_SIZE = 4;
export const OK_SIZE_VALUE = 0;
export const OK_SIZE_SIZE = 8;
export const SIZE_UNKNOWN = 0xffffffffffffffffn;
export const EXIT_HOW = 0;
export const EXIT_TIMED_OUT = 1;
export const EXIT_RESERVED = 2;
export const EXIT_VALUE = 4;
export const EXIT_SIZE = 8;
export const EXIT_CODE = 0;
export const EXIT_SIGNAL = 1;
export const ERROR_ERRNO = 0;
export const ERROR_MESSAGE = 4;

// Behaviour.
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const LINGER_MS = 5000;
export const REQUEST_WAIT_MS = 60000;
export const EXEC_DRAIN_MS = 1000;

const KNOWN_TYPES = new Set([
  T_EXEC,
  T_COPY_IN,
  T_COPY_OUT,
  T_CONNECT,
  T_STDIN,
  T_STDIN_EOF,
  T_FILE_DATA,
  T_FILE_END,
  T_OK,
  T_STDOUT,
  T_STDERR,
  T_EXIT,
  T_ERROR,
]);

export function encodeHeader(type: number, length: number): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h.writeUInt8(type, HDR_TYPE);
  h.writeUInt32LE(length, HDR_LENGTH);
  return h;
}

/** A header's type and payload length, or why it is malformed. */
export function decodeHeader(h: Uint8Array): { type: number; length: number } | string {
  const v = new DataView(h.buffer, h.byteOffset, HEADER_SIZE);
  const type = v.getUint8(HDR_TYPE);
  const length = v.getUint32(HDR_LENGTH, true);
  if (!KNOWN_TYPES.has(type)) return `unknown frame type 0x${type.toString(16)}`;
  if (v.getUint8(HDR_FLAGS) !== 0 || v.getUint16(HDR_RESERVED, true) !== 0)
    return 'non-zero reserved header bits';
  if (length > MAX_PAYLOAD) return `frame length ${length} over the ${MAX_PAYLOAD}-byte cap`;
  return { type, length };
}

/** Fixed-size fields, then length-prefixed strings, checked against their caps before anything is sent. */
class PayloadWriter {
  /** The fixed part, its version field filled in. */
  readonly fixed: Buffer;
  private readonly parts: Buffer[];
  private size: number;

  constructor(
    private readonly op: AgentOp,
    fixedSize: number,
  ) {
    this.fixed = Buffer.alloc(fixedSize);
    this.fixed.writeUInt32LE(PROTOCOL_VERSION, REQ_VERSION);
    this.parts = [this.fixed];
    this.size = fixedSize;
  }

  string(s: string, max: number, what: string): this {
    if (s.includes('\0')) throw badRequest(this.op, `${what} contains a NUL character`);
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length > max)
      throw badRequest(this.op, `${what} is ${bytes.length} bytes, over the ${max}-byte cap`);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(bytes.length, 0);
    this.parts.push(len, bytes);
    this.size += 4 + bytes.length;
    return this;
  }

  done(): Buffer {
    if (this.size > MAX_PAYLOAD) {
      throw badRequest(this.op, `the request is ${this.size} bytes, over the ${MAX_PAYLOAD}-byte frame cap`);
    }
    return Buffer.concat(this.parts, this.size);
  }
}

export interface ExecRequest {
  argv: readonly string[];
  /** "NAME=value" entries. */
  env: readonly string[];
  replaceEnv: boolean;
  cwd: string;
  timeoutMs: number;
}

export function encodeExec(r: ExecRequest): Buffer {
  if (r.argv.length === 0 || r.argv.length > MAX_ARGV) {
    throw badRequest('exec', `argv has ${r.argv.length} entries; it needs 1 to ${MAX_ARGV}`);
  }
  if (r.argv[0] === '') throw badRequest('exec', 'the program name (argv[0]) is empty');
  if (r.env.length > MAX_ENV) throw badRequest('exec', `env has ${r.env.length} entries, over ${MAX_ENV}`);
  const w = new PayloadWriter('exec', EXEC_FIXED);
  w.fixed.writeUInt32LE(u32(r.timeoutMs, 'exec', 'timeoutMs'), EXEC_TIMEOUT_MS);
  w.fixed.writeUInt32LE(r.replaceEnv ? EXEC_F_REPLACE_ENV : 0, EXEC_FLAGS);
  w.fixed.writeUInt32LE(r.argv.length, EXEC_ARGC);
  w.fixed.writeUInt32LE(r.env.length, EXEC_ENVC);
  for (const a of r.argv) w.string(a, MAX_PAYLOAD, 'an argv entry');
  for (const e of r.env) {
    if (e.indexOf('=') <= 0) throw badRequest('exec', `the environment entry '${e}' is not NAME=value`);
    w.string(e, MAX_PAYLOAD, 'an environment entry');
  }
  return w.string(r.cwd, MAX_PATH, 'cwd').done();
}

export function encodeCopyIn(path: string, mode: number): Buffer {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw badRequest('copyIn', `mode ${mode} is not a permission mode (0 to 0o7777)`);
  }
  const w = new PayloadWriter('copyIn', COPY_IN_FIXED);
  w.fixed.writeUInt32LE(mode, COPY_IN_MODE);
  return w.string(nonEmpty(path, 'copyIn', 'the guest path'), MAX_PATH, 'the guest path').done();
}

export function encodeCopyOut(path: string): Buffer {
  const w = new PayloadWriter('copyOut', COPY_OUT_FIXED);
  return w.string(nonEmpty(path, 'copyOut', 'the guest path'), MAX_PATH, 'the guest path').done();
}

export function encodeConnect(host: string, port: number, timeoutMs: number): Buffer {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw badRequest('connect', `port ${port} is not a TCP port (1 to 65535)`);
  }
  const w = new PayloadWriter('connect', CONNECT_FIXED);
  w.fixed.writeUInt16LE(port, CONNECT_PORT);
  w.fixed.writeUInt32LE(u32(timeoutMs, 'connect', 'timeoutMs'), CONNECT_TIMEOUT_MS);
  return w.string(nonEmpty(host, 'connect', 'the host'), MAX_HOST, 'the host').done();
}

function nonEmpty(s: string, op: AgentOp, what: string): string {
  if (s === '') throw badRequest(op, `${what} is empty`);
  return s;
}

function u32(n: number, op: AgentOp, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw badRequest(op, `${what} ${n} is not a whole number of milliseconds up to 2^32-1`);
  }
  return n;
}

function view(p: Uint8Array): DataView {
  return new DataView(p.buffer, p.byteOffset, p.byteLength);
}

function expectSize(op: AgentOp, p: Uint8Array, size: number, what: string): DataView {
  if (p.byteLength !== size) throw protocolError(op, `${what} payload of ${p.byteLength} bytes, not ${size}`);
  return view(p);
}

/** EXEC's OK: the command's pid (also its process group). */
export function decodeExecOk(p: Uint8Array): number {
  return expectSize('exec', p, OK_EXEC_SIZE, 'OK').getUint32(OK_EXEC_PID, true);
}

/** COPY_IN's closing OK (bytes written) or COPY_OUT's OK (the size; null if unknown). */
export function decodeSizeOk(op: AgentOp, p: Uint8Array): bigint | null {
  const size = expectSize(op, p, OK_SIZE_SIZE, 'OK').getBigUint64(OK_SIZE_VALUE, true);
  return size === SIZE_UNKNOWN ? null : size;
}

export function expectEmpty(op: AgentOp, p: Uint8Array, what: string): void {
  expectSize(op, p, 0, what);
}

export interface ExitStatus {
  /** The exit code, or null when a signal ended the command. */
  code: number | null;
  /** The signal number (Linux), or null. */
  signal: number | null;
  timedOut: boolean;
}

export function decodeExit(p: Uint8Array): ExitStatus {
  const v = expectSize('exec', p, EXIT_SIZE, 'EXIT');
  const how = v.getUint8(EXIT_HOW);
  const timedOut = v.getUint8(EXIT_TIMED_OUT);
  const value = v.getInt32(EXIT_VALUE, true);
  if (v.getUint16(EXIT_RESERVED, true) !== 0 || timedOut > 1) throw protocolError('exec', 'malformed EXIT');
  if (how === EXIT_CODE && value >= 0 && value <= 255)
    return { code: value, signal: null, timedOut: timedOut === 1 };
  if (how === EXIT_SIGNAL && value > 0 && value < 128)
    return { code: null, signal: value, timedOut: timedOut === 1 };
  throw protocolError('exec', `EXIT with kind ${how} and value ${value}`);
}

export function decodeError(op: AgentOp, p: Uint8Array): { errno: number; message: string } {
  if (p.byteLength < ERROR_MESSAGE || p.byteLength > ERROR_MESSAGE + MAX_MESSAGE) {
    throw protocolError(op, `ERROR payload of ${p.byteLength} bytes`);
  }
  const errno = view(p).getInt32(ERROR_ERRNO, true);
  const message = Buffer.from(p.buffer, p.byteOffset + ERROR_MESSAGE, p.byteLength - ERROR_MESSAGE).toString(
    'utf8',
  );
  return { errno, message };
}
