// FUSE operations that make or remove names (fuse.h): MKNOD, MKDIR, SYMLINK, LINK, CREATE, UNLINK,
// RMDIR, RENAME, RENAME2. Every name is one component beneath its parent's fd; nothing is followed.
// New files get the caller's mode (the server's umask undone) and owner (when the server is root).
// MKNOD makes no device nodes: a block device the guest could name in the share would be the
// host's disk to whoever opens it on the host.
import { fsConst as C } from '@vmm/hypervisor';
import type { FsContext } from './context';
import { EEXIST, EINVAL, EPERM, EROFS, ESTALE, ENOTDIR, ENFILE } from './errno';
import { EMPTY_PATH } from './host';
import type { FsNode } from './nodes';
import { killSuidSgid } from './kill-suid';
import { PASSED_OPEN_FLAGS, fileOpenFlags, tooManyOpen, writeOpenOut } from './ops-file';
import * as L from './layout';
import { statType } from './attr';

/** The parent directory a request names, or an errno. */
function parentDir(ctx: FsContext, id: number): FsNode | number {
  const node = ctx.node(id);
  if (!node) return ESTALE;
  return node.type === C.S_IFDIR ? node : ENOTDIR;
}

/** Checks shared by everything that makes a name: writable share, mapped caller, a directory. */
function makeChecks(ctx: FsContext): FsNode | number {
  if (ctx.opts.readonly) return EROFS;
  if (ctx.callerIds() < 0) return EPERM;
  return parentDir(ctx, ctx.req.nodeid);
}

/** After a name was made: its node (lookup counted), mode and owner settled, fuse_entry_out. */
function made(ctx: FsContext, parent: FsNode, name: Uint8Array, mode: number, symlink: boolean): number {
  const node = ctx.lookupNew(parent.fd, name);
  if (typeof node === 'number') return ctx.error(-node);
  const r = ctx.settleNew(node.fd, parent.fd, mode, symlink);
  if (r < 0 || (r > 0 && ctx.host.stat(node.fd, ctx.stx) < 0)) {
    ctx.nodes.unref(node);
    return ctx.error(r < 0 ? -r : -ctx.host.err());
  }
  return ctx.entryReply(node);
}

/** MKNOD: regular files, FIFOs and sockets. */
export function mknod(ctx: FsContext): number {
  const req = ctx.req;
  const parent = makeChecks(ctx);
  if (typeof parent === 'number') return ctx.error(parent);
  const at = req.arg + L.MKNOD_IN.size;
  const nul = req.name(at);
  if (nul < 0) return ctx.error(-nul);
  const mode = req.u32(req.arg + L.MKNOD_IN.fields.mode);
  const type = mode & C.S_IFMT;
  if (type === C.S_IFCHR || type === C.S_IFBLK) return ctx.error(EPERM);
  if (type !== 0 && type !== C.S_IFREG && type !== C.S_IFIFO && type !== C.S_IFSOCK) return ctx.error(EINVAL);
  const name = req.cstr(at, nul);
  if (ctx.host.fs.mknodat(parent.fd, name, (type || C.S_IFREG) | (mode & 0o7777), 0) !== 0)
    return ctx.error(-ctx.host.err());
  return made(ctx, parent, name, mode, false);
}

/** MKDIR. */
export function mkdir(ctx: FsContext): number {
  const req = ctx.req;
  const parent = makeChecks(ctx);
  if (typeof parent === 'number') return ctx.error(parent);
  const at = req.arg + L.MKDIR_IN.size;
  const nul = req.name(at);
  if (nul < 0) return ctx.error(-nul);
  const mode = req.u32(req.arg + L.MKDIR_IN.fields.mode) & 0o7777;
  const name = req.cstr(at, nul);
  if (ctx.host.fs.mkdirat(parent.fd, name, mode) !== 0) return ctx.error(-ctx.host.err());
  return made(ctx, parent, name, mode, false);
}

/** SYMLINK: the name, then the target (any bytes: the server never follows a symlink). */
export function symlink(ctx: FsContext): number {
  const req = ctx.req;
  const parent = makeChecks(ctx);
  if (typeof parent === 'number') return ctx.error(parent);
  const nul = req.name(req.arg);
  if (nul < 0) return ctx.error(-nul);
  const end = req.target(nul + 1);
  if (end < 0) return ctx.error(-end);
  const name = req.cstr(req.arg, nul);
  if (ctx.host.fs.symlinkat(req.cstr(nul + 1, end), parent.fd, name) !== 0) return ctx.error(-ctx.host.err());
  return made(ctx, parent, name, 0, true);
}

/** LINK: a new name for a node the guest holds (so for nothing outside the share). */
export function link(ctx: FsContext): number {
  const req = ctx.req;
  const parent = makeChecks(ctx);
  if (typeof parent === 'number') return ctx.error(parent);
  const old = ctx.node(req.u64(req.arg + L.LINK_IN.fields.oldnodeid));
  if (!old) return ctx.error(ESTALE);
  if (old.type === C.S_IFDIR) return ctx.error(EPERM);
  const at = req.arg + L.LINK_IN.size;
  const nul = req.name(at);
  if (nul < 0) return ctx.error(-nul);
  const name = req.cstr(at, nul);
  const host = ctx.host;
  // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; without it, the node's /proc/self/fd link.
  let r = host.fs.linkat(old.fd, EMPTY_PATH, parent.fd, name, C.AT_EMPTY_PATH);
  if (r !== 0 && !ctx.chownNew)
    r = host.fs.linkat(host.procFd, host.procNameOf(old.fd), parent.fd, name, C.AT_SYMLINK_FOLLOW);
  if (r !== 0) return ctx.error(-host.err());
  const s = host.stat(old.fd, ctx.stx);
  if (s < 0) return ctx.error(-s);
  old.refs++; // the kernel counts the reply as a lookup
  return ctx.entryReply(old);
}

/** CREATE: make and open a regular file; fuse_entry_out then fuse_open_out. */
export function create(ctx: FsContext): number {
  const req = ctx.req;
  const parent = makeChecks(ctx);
  if (typeof parent === 'number') return ctx.error(parent);
  const c = L.CREATE_IN.fields;
  const at = req.arg + L.CREATE_IN.size;
  const nul = req.name(at);
  if (nul < 0) return ctx.error(-nul);
  const asked = req.u32(req.arg + c.flags);
  const mode = req.u32(req.arg + c.mode) & 0o7777;
  const flags = asked & PASSED_OPEN_FLAGS;
  const name = req.cstr(at, nul);
  const host = ctx.host;
  // O_EXCL first, so the server knows whether it made the file (and so may set its mode and owner).
  let fd = host.openBeneath(parent.fd, name, flags | C.O_CREAT | C.O_EXCL, mode);
  const createdHere = fd >= 0;
  if (fd === -EEXIST && !(asked & C.O_EXCL)) fd = host.openBeneath(parent.fd, name, flags, 0);
  if (fd < 0) return ctx.error(-fd);
  const pfd = nodeFdOf(ctx, fd);
  if (pfd < 0) {
    host.close(fd);
    return ctx.error(-pfd);
  }
  const node = ctx.nodes.intern(pfd, ctx.stxKey(), statType(ctx.stxView));
  if (!node) {
    host.close(fd);
    return ctx.error(ENFILE);
  }
  if (createdHere) {
    const r = ctx.settleNew(node.fd, parent.fd, mode, false);
    if (r < 0 || (r > 0 && host.stat(node.fd, ctx.stx) < 0)) {
      ctx.nodes.unref(node);
      host.close(fd);
      return ctx.error(r < 0 ? -r : -host.err());
    }
  }
  if (!createdHere && flags & C.O_TRUNC && req.u32(req.arg + c.open_flags) & L.FUSE_OPEN_KILL_SUIDGID)
    killSuidSgid(ctx, fd); // ctx.stx stays the file's, for the entry below
  const h = ctx.handles.open(fd, false, flags);
  if (!h) {
    ctx.nodes.unref(node);
    return tooManyOpen(ctx);
  }
  ctx.writeEntry(L.OUT_HEADER.size, node);
  writeOpenOut(ctx, L.OUT_HEADER.size + L.ENTRY_OUT.size, h.fh, fileOpenFlags(ctx));
  return ctx.ok(L.ENTRY_OUT.size + L.OPEN_OUT.size);
}

/** An O_PATH fd of exactly the file `fd` has open, its statx in ctx.stx: -errno on failure. */
function nodeFdOf(ctx: FsContext, fd: number): number {
  const host = ctx.host;
  if (host.stat(fd, ctx.stx) < 0) return host.err();
  return host.pathOf(fd);
}

/** UNLINK and RMDIR. */
export function unlink(ctx: FsContext, dir: boolean): number {
  const req = ctx.req;
  if (ctx.opts.readonly) return ctx.error(EROFS);
  const parent = parentDir(ctx, req.nodeid);
  if (typeof parent === 'number') return ctx.error(parent);
  const nul = req.name(req.arg);
  if (nul < 0) return ctx.error(-nul);
  const r = ctx.host.fs.unlinkat(parent.fd, req.cstr(req.arg, nul), dir ? C.AT_REMOVEDIR : 0);
  return r !== 0 ? ctx.error(-ctx.host.err()) : ctx.ok(0);
}

const RENAME_FLAGS = C.RENAME_NOREPLACE | C.RENAME_EXCHANGE;

/** RENAME (fuse_rename_in) and RENAME2 (fuse_rename2_in, with NOREPLACE or EXCHANGE). */
export function rename(ctx: FsContext, two: boolean): number {
  const req = ctx.req;
  if (ctx.opts.readonly) return ctx.error(EROFS);
  const parent = parentDir(ctx, req.nodeid);
  if (typeof parent === 'number') return ctx.error(parent);
  const newdir = req.u64(req.arg + (two ? L.RENAME2_IN.fields.newdir : L.RENAME_IN.fields.newdir));
  const flags = two ? req.u32(req.arg + L.RENAME2_IN.fields.flags) : 0;
  if (flags & ~RENAME_FLAGS) return ctx.error(EINVAL);
  const to = parentDir(ctx, newdir);
  if (typeof to === 'number') return ctx.error(to);
  const at = req.arg + (two ? L.RENAME2_IN.size : L.RENAME_IN.size);
  const oldEnd = req.name(at);
  if (oldEnd < 0) return ctx.error(-oldEnd);
  const newEnd = req.name(oldEnd + 1);
  if (newEnd < 0) return ctx.error(-newEnd);
  const r = ctx.host.fs.renameat2(
    parent.fd,
    req.cstr(at, oldEnd),
    to.fd,
    req.cstr(oldEnd + 1, newEnd),
    flags,
  );
  return r !== 0 ? ctx.error(-ctx.host.err()) : ctx.ok(0);
}
