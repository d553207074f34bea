// Fuzz target: a saved virtio-fs session as a snapshot's devices.json carries it (the JSON text of
// a share's state), checked by fsSessionFault and, when it passes, restored into a new server over
// a temporary share (test/fuse/fuzz-share.ts: files, a directory, a hard link, and symlinks leading
// to a sibling directory "outside" that holds a secret). Small bounds (64 nodes, 16 handles).
// Contract: fsSessionFault returns a sentence or undefined and never throws; restoreSession of a
// state it passed does not throw, brings back at most what the state names (restored + stale =
// nodes + handles), keeps the tables within their bounds, and every fd the server then holds is a
// file beneath the share, never one outside it (a path through "..", a symlink, "/" or NUL).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { populateShare } from '../../test/fuse/fuzz-share';
import { FuseServer } from './server';
import { fsSessionFault, type FsSessionState } from './session';

const MAX_NODES = 64;
const MAX_HANDLES = 16;
const tmp = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const base = fs.mkdtempSync(path.join(tmp, 'vmm-fs-session-fuzz-'));
const share = path.join(base, 'share');
populateShare(share, path.join(base, 'outside'));

/** The temporary share goes with the session. */
export function close(): void {
  fs.rmSync(base, { recursive: true, force: true });
}

export const maxLength = 4096;

function fail(why: string): never {
  throw new Error(`contract: ${why}`);
}

export function fuzz(data: Uint8Array): void {
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return;
  }
  const fault = fsSessionFault(state, MAX_NODES, MAX_HANDLES);
  if (fault !== undefined) {
    if (typeof fault !== 'string' || fault.length === 0) fail('a fault that is not a sentence');
    return;
  }
  const s = state as FsSessionState;
  const server = new FuseServer({ root: share, maxNodes: MAX_NODES, maxHandles: MAX_HANDLES, log: () => {} });
  try {
    const n = server.restoreSession(s);
    if (n.nodes + n.handles + n.stale !== s.nodes.length + s.handles.length)
      fail(`restored ${JSON.stringify(n)} of ${s.nodes.length} nodes and ${s.handles.length} handles`);
    const held = server.held;
    if (held.nodes > MAX_NODES || held.handles > MAX_HANDLES)
      fail(`tables past their bounds: ${JSON.stringify(held)}`);
    for (const fd of server.heldFds()) {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target !== share && !target.startsWith(`${share}/`))
        fail(`the server holds fd ${fd} on ${target}, outside the share`);
    }
  } finally {
    server.close();
  }
}

const b64 = (p: string) => Buffer.from(p).toString('base64');
const S_IFREG = 0o100000;
const S_IFDIR = 0o40000;
const S_IFLNK = 0o120000;

export function seeds(): Uint8Array[] {
  const state = (
    nodes: FsSessionState['nodes'],
    handles: FsSessionState['handles'] = [],
  ): FsSessionState => ({
    minor: 31,
    nextNode: 2 + nodes.length,
    nextFh: 1 + handles.length,
    nodes,
    handles,
  });
  const all: FsSessionState[] = [
    state([]),
    state(
      [
        { id: 2, refs: 1, type: S_IFREG, path: b64('a') },
        { id: 3, refs: 2, type: S_IFDIR, path: b64('d') },
        { id: 4, refs: 1, type: S_IFREG, path: b64('d/c') },
        { id: 5, refs: 1, type: S_IFLNK, path: b64('abs') },
        { id: 6, refs: 1, type: S_IFLNK, path: b64('rel') },
        { id: 7, refs: 1, type: S_IFREG, path: null },
      ],
      [
        { fh: 1, flags: 0, dir: false, path: b64('a') },
        { fh: 2, flags: 0o2002, dir: false, path: b64('d/hard') },
        { fh: 3, flags: 0o200000, dir: true, path: '' },
        { fh: 4, flags: 0o200000, dir: true, path: b64('d') },
      ],
    ),
    state([
      { id: 2, refs: 1, type: S_IFREG, path: b64('../outside/secret') },
      { id: 3, refs: 1, type: S_IFREG, path: b64('rel/secret') },
      { id: 4, refs: 1, type: S_IFREG, path: b64('abs') },
    ]),
  ];
  return all.map((s) => new Uint8Array(Buffer.from(JSON.stringify(s))));
}
