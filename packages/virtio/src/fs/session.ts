// A guest's FUSE session as a snapshot keeps it: the node ids the guest holds (with their lookup
// counts) and the files it has open, each by its path beneath the share at that moment, read from
// the host's own name of the held fd (/proc/self/fd/N). A restore opens each again beneath the
// share one component at a time, never following a symlink (HostFs.lookup), and checks that it is
// the same kind of file. One that is gone (deleted, moved out of the share) or has become another
// kind is left out: the guest gets ESTALE for its node id, EBADF for its fh, never another file.
// Ids and fhs go on from the saved ones, so a new one never names what the guest still holds.
import { fsConst as C, fsLayout } from '@vmm/hypervisor';
import { statType } from './attr';
import type { FsContext } from './context';
import { opensForWriting } from './handles';
import { FUSE_KERNEL_MINOR_VERSION, FUSE_MIN_MINOR_VERSION } from './layout';

/** A session as saved: plain data (a snapshot writes it as JSON). Paths are base64 of their bytes. */
export interface FsSessionState {
  /** The FUSE minor version agreed at INIT (what INIT can agree); 0: no session was initialised. */
  minor: number;
  /** The node id and fh the next new ones would have got. */
  nextNode: number;
  nextFh: number;
  /** Every node but the root. `path`: beneath the share, or null when it had no name there. */
  nodes: { id: number; refs: number; type: number; path: string | null }[];
  handles: { fh: number; flags: number; dir: boolean; path: string | null }[];
}

/** What a restore brought back, and what it had to leave out. */
export interface FsRestoreCount {
  nodes: number;
  handles: number;
  stale: number;
}

const PATH_MAX = 4096;
const SLASH = 0x2f;
const TYPES = new Set<number>([C.S_IFREG, C.S_IFDIR, C.S_IFLNK, C.S_IFIFO, C.S_IFSOCK, C.S_IFCHR, C.S_IFBLK]);
/** Flags that made the file, not ones to open it with again. */
const CREATE_ONLY = C.O_CREAT | C.O_EXCL | C.O_TRUNC;

/** The session of `ctx` (the VM paused: no request is being served). */
export function saveSession(ctx: FsContext, minor: number): FsSessionState {
  const root = hostPath(ctx, ctx.nodes.root.fd);
  // What a path beneath the root starts with: the root's name and a slash ("/" alone for "/").
  const prefix = root && (root.at(-1) === SLASH ? root : Buffer.concat([root, Buffer.of(SLASH)]));
  const beneath = (fd: number): string | null => {
    const p = hostPath(ctx, fd);
    // nlink 0: unlinked (the kernel's name for it then ends in " (deleted)").
    if (!p || !root || !prefix || ctx.host.stat(fd, ctx.stx) < 0 || nlink(ctx) === 0) return null;
    if (p.equals(root)) return '';
    if (p.length <= prefix.length || !p.subarray(0, prefix.length).equals(prefix)) return null;
    return p.subarray(prefix.length).toString('base64');
  };
  const nodes: FsSessionState['nodes'] = [];
  for (const n of ctx.nodes.values())
    if (n !== ctx.nodes.root) nodes.push({ id: n.id, refs: n.refs, type: n.type, path: beneath(n.fd) });
  const handles: FsSessionState['handles'] = [];
  for (const h of ctx.handles.values())
    handles.push({ fh: h.fh, flags: h.flags, dir: h.dir, path: beneath(h.fd) });
  return { minor, nextNode: ctx.nodes.next, nextFh: ctx.handles.next, nodes, handles };
}

/** Brings `state` back into the fresh session of `ctx` (checked with fsSessionFault first). */
export function restoreSession(ctx: FsContext, state: FsSessionState): FsRestoreCount {
  const count: FsRestoreCount = { nodes: 0, handles: 0, stale: 0 };
  const walk = new PathWalk(ctx);
  // Parents first: a node's directory is then found restored, and the node is one lookup from it
  // (the guest's kernel holds every ancestor of a node it holds, so they are nodes too).
  const nodes = state.nodes
    .map((n) => ({ n, rel: n.path === null ? null : Buffer.from(n.path, 'base64') }))
    .sort((x, y) => depth(x.rel) - depth(y.rel));
  for (const { n, rel } of nodes) {
    const fd = rel === null ? -1 : walk.open(rel);
    if (fd >= 0 && statType(ctx.stxView) === n.type) {
      if (ctx.nodes.adopt(n.id, fd, ctx.stxKey(), n.type, n.refs)) {
        count.nodes++;
        if (n.type === C.S_IFDIR) walk.known(rel!, fd);
        continue;
      }
    } else if (fd >= 0) ctx.host.close(fd);
    count.stale++;
  }
  ctx.nodes.skipTo(state.nextNode);
  for (const h of state.handles) {
    const fd = reopenHandle(ctx, walk, h);
    if (fd >= 0 && ctx.handles.adopt(h.fh, fd, h.dir, h.flags)) count.handles++;
    else count.stale++;
  }
  ctx.handles.skipTo(state.nextFh);
  return count;
}

/** Why `s` is not a session a restore can take (each field checked, within `maxNodes`/`maxHandles`). */
export function fsSessionFault(s: unknown, maxNodes: number, maxHandles: number): string | undefined {
  if (typeof s !== 'object' || s === null) return 'not an object';
  const o = s as Record<string, unknown>;
  const id = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
  const path = (v: unknown) =>
    v === null ||
    (typeof v === 'string' && v.length <= (PATH_MAX * 4) / 3 + 4 && /^[A-Za-z0-9+/]*={0,2}$/.test(v));
  const minor = o.minor as number;
  if (
    !Number.isInteger(minor) ||
    (minor !== 0 && (minor < FUSE_MIN_MINOR_VERSION || minor > FUSE_KERNEL_MINOR_VERSION))
  )
    return 'a bad minor version';
  if (!id(o.nextNode) || !id(o.nextFh)) return 'bad next ids';
  if (!Array.isArray(o.nodes) || o.nodes.length > maxNodes) return `not a list of at most ${maxNodes} nodes`;
  if (!Array.isArray(o.handles) || o.handles.length > maxHandles)
    return `not a list of at most ${maxHandles} open files`;
  const ids = new Set<number>();
  for (const n of o.nodes as Record<string, unknown>[]) {
    if (typeof n !== 'object' || n === null || !id(n.id) || (n.id as number) <= 1 || ids.has(n.id as number))
      return 'a node without an id of its own';
    if (!id(n.refs) || !TYPES.has(n.type as number) || !path(n.path)) return `node ${n.id} is malformed`;
    if ((n.id as number) >= (o.nextNode as number)) return `node ${n.id} is not below nextNode`;
    ids.add(n.id as number);
  }
  const fhs = new Set<number>();
  for (const h of o.handles as Record<string, unknown>[]) {
    if (typeof h !== 'object' || h === null || !id(h.fh) || fhs.has(h.fh as number))
      return 'an open file without an fh of its own';
    if (!Number.isInteger(h.flags) || (h.flags as number) < 0 || typeof h.dir !== 'boolean' || !path(h.path))
      return `open file ${h.fh} is malformed`;
    if ((h.fh as number) >= (o.nextFh as number)) return `open file ${h.fh} is not below nextFh`;
    fhs.add(h.fh as number);
  }
  return undefined;
}

/** The host's name of what `fd` holds (readlink of /proc/self/fd/N), or null. */
function hostPath(ctx: FsContext, fd: number): Buffer | null {
  const buf = Buffer.allocUnsafe(PATH_MAX);
  const n = ctx.host.fs.readlinkat(ctx.host.procFd, ctx.host.procNameOf(fd), buf, buf.length);
  return n > 0 && n < buf.length ? buf.subarray(0, n) : null;
}

function nlink(ctx: FsContext): number {
  return ctx.stxView.getUint32(fsLayout.STATX.fields.stx_nlink, true);
}

/** Components in a saved path (-1 for none): parents sort before their children. */
function depth(rel: Buffer | null): number {
  if (rel === null) return -1;
  let n = 1;
  for (const b of rel) if (b === SLASH) n++;
  return n;
}

/**
 * O_PATH fds of paths beneath the share's root, each name looked up beneath its parent as a
 * LOOKUP does it (one component, no symlink followed; "", "." and ".." refused), from the nearest
 * directory restored so far (`known`), else from the root. The statx of what it opened is in
 * ctx.stx.
 */
class PathWalk {
  /** Restored directories by their path (latin1 of its bytes; "" the root): fds the node table owns. */
  private readonly dirs = new Map<string, number>();

  constructor(private readonly ctx: FsContext) {
    this.dirs.set('', ctx.nodes.root.fd);
  }

  known(rel: Buffer, fd: number): void {
    this.dirs.set(rel.toString('latin1'), fd);
  }

  /** An fd of `rel` (not empty), or -1. */
  open(rel: Buffer): number {
    const host = this.ctx.host;
    const cut = rel.lastIndexOf(SLASH);
    const parent = this.dirs.get(cut < 0 ? '' : rel.subarray(0, cut).toString('latin1'));
    const root = this.ctx.nodes.root.fd;
    let fd = parent ?? root;
    // Only what this walk opened is closed: the root's and a restored parent's fds are the table's.
    const owned = (f: number) => f !== root && f !== parent;
    for (let at = parent === undefined ? 0 : cut + 1; at <= rel.length;) {
      let end = rel.indexOf(SLASH, at);
      if (end < 0) end = rel.length;
      const name = rel.subarray(at, end);
      const dots = name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e));
      const bad = name.length === 0 || dots || name.includes(0);
      const next = bad ? -1 : host.lookup(fd, Buffer.concat([name, Buffer.of(0)]));
      if (owned(fd)) host.close(fd);
      if (next < 0) return -1;
      fd = next;
      at = end + 1;
    }
    if (fd === root) return -1; // "" : the root is never a saved node
    if (host.stat(fd, this.ctx.stx) < 0) {
      host.close(fd);
      return -1;
    }
    return fd;
  }
}

/** An open file again, as OPEN, CREATE or OPENDIR had it, from its path; or -1. */
function reopenHandle(ctx: FsContext, walk: PathWalk, h: FsSessionState['handles'][number]): number {
  if (h.path === null || (h.path === '' && !h.dir)) return -1;
  if (ctx.opts.readonly && opensForWriting(h.flags)) return -1;
  const pfd = h.path === '' ? ctx.host.pathOf(ctx.nodes.root.fd) : walk.open(Buffer.from(h.path, 'base64'));
  if (pfd < 0) return -1;
  if (h.path === '' && ctx.host.stat(pfd, ctx.stx) < 0) {
    ctx.host.close(pfd);
    return -1;
  }
  const type = statType(ctx.stxView);
  const fd = type === (h.dir ? C.S_IFDIR : C.S_IFREG) ? ctx.host.reopen(pfd, h.flags & ~CREATE_ONLY) : -1;
  ctx.host.close(pfd);
  return fd;
}
