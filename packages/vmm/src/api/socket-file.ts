// The API's Unix socket file: owner-only (0600) from the moment it can be reached, a stale file of
// an ended process replaced, a live one (or anything that is not a socket) left alone.
//
// No window where the mode is wider: the socket is bound inside a fresh directory of mode 0700
// (mkdtemp) next to the target, chmod'ed to 0600 there, then hard-linked to the target path, which
// fails rather than replaces when something appeared there meanwhile. This touches no process-wide
// state (a umask around listen() would be seen by every thread of the process).
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { VmmError } from '@vmm/hypervisor';
import { nodeNet } from '../io/node-net';

export interface BoundSocket {
  /** Remove the socket file, if it is still the one bound here. */
  unlink(): void;
}

/** Listen on `target` with mode 0600 (see above). VmmError EAPISOCKET on failure, naming the path. */
export async function listenOwnerOnly(server: net.Server, target: string): Promise<BoundSocket> {
  await removeStaleSocket(target);
  let dir: string;
  try {
    dir = fs.mkdtempSync(path.join(path.dirname(target), '.vmm-api-'));
  } catch (e) {
    throw socketError(
      target,
      `cannot create a file next to it (${(e as NodeJS.ErrnoException).code ?? e})`,
      'check the folder exists and is writable',
    );
  }
  const bound = path.join(dir, 's');
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) =>
        reject(
          socketError(
            target,
            `cannot listen (${e.code ?? e.message})`,
            'pick a shorter path or another folder',
          ),
        );
      server.once('error', onError);
      server.listen(bound, () => {
        server.off('error', onError);
        resolve();
      });
    });
    fs.chmodSync(bound, 0o600);
    try {
      fs.linkSync(bound, target);
    } catch (e) {
      server.close();
      throw socketError(
        target,
        `cannot put the socket there (${(e as NodeJS.ErrnoException).code})`,
        'another process took the path meanwhile: pick another path',
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const st = fs.lstatSync(target);
  return {
    unlink() {
      try {
        const now = fs.lstatSync(target);
        if (now.ino === st.ino && now.dev === st.dev) fs.unlinkSync(target);
      } catch {
        // already gone
      }
    },
  };
}

/**
 * A socket file left by a process that is gone (connecting is refused) is removed; a live socket
 * or anything else at the path is an error (VsockUnixMuxer checks its socket the same way).
 */
export async function removeStaleSocket(target: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(target);
  } catch {
    return;
  }
  if (!st.isSocket()) throw socketError(target, 'the path exists and is not a socket', 'pick another path');
  const answer = await new Promise<string>((resolve) => {
    const probe = nodeNet().connect(target);
    probe.once('connect', () => {
      probe.destroy();
      resolve('live');
    });
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  if (answer === 'live')
    throw socketError(
      target,
      'another process listens there (another vmm?)',
      'pick another path or stop that process',
    );
  // Only a refused connection says nobody listens; EACCES (another user's socket) says nothing.
  if (answer !== 'ECONNREFUSED')
    throw socketError(target, `a socket is there and cannot be probed (${answer})`, 'pick another path');
  fs.unlinkSync(target);
}

function socketError(target: string, what: string, todo: string): VmmError {
  return new VmmError('EAPISOCKET', `API socket ${target}: ${what}: ${todo}`);
}
