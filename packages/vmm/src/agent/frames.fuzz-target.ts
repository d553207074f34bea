// Fuzz target: what the client reads from the agent (a guest program, so untrusted): frames
// reassembled by FrameReader (agent/protocol.h) from chunks of any size, and every reply payload
// through its decoder. Input byte 0: the chunk size - 1; then the stream. Contract: nothing throws
// but AgentError, no frame is longer than MAX_PAYLOAD, and the bytes taken plus the bytes left equal
// the bytes fed.
import { AgentError } from './errors';
import { FrameReader } from './frame-reader';
import {
  HEADER_SIZE,
  MAX_PAYLOAD,
  T_ERROR,
  T_EXIT,
  T_FILE_DATA,
  T_OK,
  T_STDOUT,
  decodeError,
  decodeExecOk,
  decodeExit,
  decodeSizeOk,
  encodeHeader,
  expectEmpty,
} from './protocol';

function expectedOnly(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof AgentError)) throw e;
  }
}

export function fuzz(data: Uint8Array): void {
  if (data.length < 1) return;
  const chunk = data[0]! + 1;
  const stream = Buffer.from(data.buffer, data.byteOffset + 1, data.length - 1);
  const reader = new FrameReader('exec');
  let taken = 0;
  try {
    for (let off = 0; off < stream.length; off += chunk) {
      reader.push(stream.subarray(off, off + chunk));
      for (let f = reader.next(); f; f = reader.next()) {
        if (f.payload.length > MAX_PAYLOAD) throw new Error(`contract: a ${f.payload.length}-byte payload`);
        taken += HEADER_SIZE + f.payload.length;
        if (f.type === T_OK) {
          expectedOnly(() => decodeExecOk(f.payload));
          expectedOnly(() => decodeSizeOk('copyOut', f.payload));
          expectedOnly(() => expectEmpty('connect', f.payload, 'OK'));
        } else if (f.type === T_EXIT) {
          expectedOnly(() => decodeExit(f.payload));
        } else if (f.type === T_ERROR) {
          expectedOnly(() => decodeError('exec', f.payload));
        }
      }
    }
  } catch (e) {
    if (e instanceof AgentError) return; // a malformed header: the client closes the stream
    throw e;
  }
  if (taken + reader.buffered !== stream.length) {
    throw new Error(`contract: ${taken} bytes taken + ${reader.buffered} left != ${stream.length} fed`);
  }
}

export const maxLength = 4096;

function frame(type: number, payload: Buffer): Buffer {
  return Buffer.concat([encodeHeader(type, payload.length), payload]);
}

export function seeds(): Uint8Array[] {
  const pid = Buffer.alloc(4);
  pid.writeUInt32LE(1234, 0);
  const exit = Buffer.from([1, 1, 0, 0, 9, 0, 0, 0]);
  const err = Buffer.concat([
    Buffer.from([2, 0, 0, 0]),
    Buffer.from('cannot open: No such file or directory'),
  ]);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(5n, 0);
  const execReplies = Buffer.concat([
    frame(T_OK, pid),
    frame(T_STDOUT, Buffer.from('hello\n')),
    frame(T_EXIT, exit),
  ]);
  const copyReplies = Buffer.concat([
    frame(T_OK, size),
    frame(T_FILE_DATA, Buffer.from('abcde')),
    frame(T_ERROR, err),
  ]);
  return [Buffer.concat([Buffer.from([0]), execReplies]), Buffer.concat([Buffer.from([6]), copyReplies])];
}
