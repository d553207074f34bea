// AgentClient.copyIn: COPY_IN (agent/protocol.h). The host file is streamed in FILE_DATA frames of
// DATA_CHUNK bytes, never held whole; an ERROR the agent sends mid-way (a full disk) stops the
// stream at once.
import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import { FrameChannel } from './channel';
import { guestError, protocolError } from './errors';
import { abortWith, abortedError } from './guards';
import type { Frame } from './frame-reader';
import {
  DATA_CHUNK,
  T_COPY_IN,
  T_ERROR,
  T_FILE_DATA,
  T_FILE_END,
  T_OK,
  decodeError,
  decodeSizeOk,
  encodeCopyIn,
  expectEmpty,
} from './protocol';

export interface CopyInOptions {
  /** The guest file's permission bits (default: the host file's rwx bits, as `cp` does). */
  mode?: number;
  /** Aborting stops the upload: copyIn rejects with AGENT_ABORTED (the guest file is left as far
      as it got). */
  signal?: AbortSignal;
}

export async function runCopyIn(
  open: () => Promise<Duplex>,
  hostPath: string,
  guestPath: string,
  opts: CopyInOptions = {},
): Promise<void> {
  const what = `copyIn to '${guestPath}'`;
  if (opts.signal?.aborted) throw abortedError('copyIn', what);
  const file = await fs.promises.open(hostPath, 'r');
  try {
    const mode = opts.mode ?? (await file.stat()).mode & 0o777;
    const request = encodeCopyIn(guestPath, mode);
    const ch = await FrameChannel.open(open, 'copyIn');
    const stopAbort = abortWith(ch, opts.signal, 'copyIn', what);
    try {
      await ch.send(T_COPY_IN, request);
      const opened = await ch.next();
      failOnError(opened, what);
      if (opened.type !== T_OK) throw protocolError('copyIn', 'no OK after COPY_IN');
      expectEmpty('copyIn', opened.payload, 'OK');

      // The reply is awaited while the file streams, so an early ERROR ends the upload.
      let reply: Frame | undefined;
      const replied = ch.next().then((f) => (reply = f));
      replied.catch(() => {});
      let sent = 0n;
      const source = file.createReadStream({ highWaterMark: DATA_CHUNK, autoClose: false });
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (reply) break;
        await ch.send(T_FILE_DATA, chunk);
        sent += BigInt(chunk.length);
      }
      if (!reply) await ch.send(T_FILE_END);
      const done = await replied;
      failOnError(done, what);
      if (done.type !== T_OK) throw protocolError('copyIn', 'no OK after FILE_END');
      const written = decodeSizeOk('copyIn', done.payload);
      if (written !== sent) throw protocolError('copyIn', `the agent wrote ${written} bytes of ${sent}`);
    } finally {
      stopAbort();
      ch.destroy();
    }
  } finally {
    await file.close();
  }
}

function failOnError(f: Frame, what: string): void {
  if (f.type !== T_ERROR) return;
  const e = decodeError('copyIn', f.payload);
  throw guestError('copyIn', e.errno, e.message, what);
}
