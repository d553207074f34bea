// AgentClient.copyOut: COPY_OUT (agent/protocol.h). Each FILE_DATA frame is written to the host
// file before the next is read, so the agent never runs ahead of the disk. The host file is created
// only once the guest file is open, and removed again if the copy fails.
import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import { FrameChannel } from './channel';
import { guestError, protocolError } from './errors';
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

export async function runCopyOut(
  open: () => Promise<Duplex>,
  guestPath: string,
  hostPath: string,
): Promise<void> {
  const what = `copyOut of '${guestPath}'`;
  const request = encodeCopyOut(guestPath);
  const ch = await FrameChannel.open(open, 'copyOut');
  try {
    await ch.send(T_COPY_OUT, request);
    const opened = await ch.next();
    if (opened.type === T_ERROR) {
      const e = decodeError('copyOut', opened.payload);
      throw guestError('copyOut', e.errno, e.message, what);
    }
    if (opened.type !== T_OK) throw protocolError('copyOut', 'no OK after COPY_OUT');
    decodeSizeOk('copyOut', opened.payload);

    const file = await fs.promises.open(hostPath, 'w');
    let complete = false;
    try {
      for (;;) {
        const f = await ch.next();
        if (f.type === T_FILE_DATA) {
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
    ch.destroy();
  }
}
