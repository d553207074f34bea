// AgentClient.copyOut: COPY_OUT (agent/protocol.h). Each FILE_DATA frame is written to the host
// file before the next is read, so the agent never runs ahead of the disk. The host file is created
// only once the guest file is open, and removed again if the copy fails.
import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import { FrameChannel } from './channel';
import { AgentError, badRequest, guestError, protocolError } from './errors';
import { abortWith, abortedError } from './guards';
import {
  T_COPY_OUT,
  T_ERROR,
  T_FILE_DATA,
  T_FILE_END,
  T_OK,
  decodeError,
  decodeSizeOk,
  encodeCopyOut,
  expectEmpty,
} from './protocol';

export interface CopyOutOptions {
  /** The most bytes the host file may get. A larger file is refused with AGENT_TOO_LARGE: before
      the host file is made when the guest says the file's size, else as soon as more comes (the
      host file is removed). Default: no limit. The guest decides what it sends (/dev/zero never
      ends): set this for a guest you do not trust. */
  maxBytes?: number;
  /** Aborting stops the copy: copyOut rejects with AGENT_ABORTED, the host file is removed. */
  signal?: AbortSignal;
}

export async function runCopyOut(
  open: () => Promise<Duplex>,
  guestPath: string,
  hostPath: string,
  opts: CopyOutOptions = {},
): Promise<void> {
  const what = `copyOut of '${guestPath}'`;
  const request = encodeCopyOut(guestPath);
  const max = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(max) || max < 0)
    throw badRequest('copyOut', `maxBytes ${opts.maxBytes} is not a whole number of bytes`);
  const tooLarge = (why: string): AgentError =>
    new AgentError('AGENT_TOO_LARGE', 'copyOut', `${what}: ${why}; raise maxBytes to copy it`);
  if (opts.signal?.aborted) throw abortedError('copyOut', what);
  const ch = await FrameChannel.open(open, 'copyOut');
  const stopAbort = abortWith(ch, opts.signal, 'copyOut', what);
  try {
    await ch.send(T_COPY_OUT, request);
    const opened = await ch.next();
    if (opened.type === T_ERROR) {
      const e = decodeError('copyOut', opened.payload);
      throw guestError('copyOut', e.errno, e.message, what);
    }
    if (opened.type !== T_OK) throw protocolError('copyOut', 'no OK after COPY_OUT');
    const size = decodeSizeOk('copyOut', opened.payload);
    if (size !== null && size > BigInt(max))
      throw tooLarge(`the guest file is ${size} bytes, over maxBytes (${max}); no host file was made`);

    const file = await fs.promises.open(hostPath, 'w');
    let complete = false;
    let received = 0;
    try {
      for (;;) {
        const f = await ch.next();
        if (f.type === T_FILE_DATA) {
          received += f.payload.length;
          if (received > max)
            throw tooLarge(`the guest sent more than maxBytes (${max}); the host file is removed`);
          for (let off = 0; off < f.payload.length;) {
            off += (await file.write(f.payload, off, f.payload.length - off)).bytesWritten;
          }
        } else if (f.type === T_FILE_END) {
          expectEmpty('copyOut', f.payload, 'FILE_END');
          complete = true;
          break;
        } else if (f.type === T_ERROR) {
          const e = decodeError('copyOut', f.payload);
          throw guestError('copyOut', e.errno, e.message, what);
        } else {
          throw protocolError('copyOut', `frame type 0x${f.type.toString(16)} during the file data`);
        }
      }
    } finally {
      await file.close();
      if (!complete) await fs.promises.rm(hostPath, { force: true });
    }
  } finally {
    stopAbort();
    ch.destroy();
  }
}
