// FUSE operations on names and inodes (fuse.h): LOOKUP, FORGET, BATCH_FORGET, GETATTR, SETATTR,
// READLINK, STATFS. Each takes the parsed request in ctx.req, writes its reply into ctx.out and
// returns the reply's length (0: FORGET has none).
import { fsConst as C, fsLayout } from '@vmm/hypervisor';
import type { FsContext } from './context';
import { EFBIG, EINVAL, EISDIR, EOPNOTSUPP, EPERM, EROFS, ESTALE } from './errno';
import { EMPTY_PATH } from './host';
import { killSuidSgid } from './kill-suid';
import * as L from './layout';
import { PATH_MAX } from './request';

/** LOOKUP: name -> fuse_entry_out, one lookup counted. */
export function lookup(ctx: FsContext): number {
  const req = ctx.req;
  const parent = ctx.node(req.nodeid);
  if (!parent) return ctx.error(ESTALE);
  const nul = req.name(req.arg);
  if (nul < 0) return ctx.error(-nul);
  const node = ctx.lookup(parent.fd, req.cstr(req.arg, nul));
  if (typeof node === 'number') return ctx.error(-node);
  return ctx.entryReply(node);
}

/** FORGET: no reply. */
export function forget(ctx: FsContext): number {
  const req = ctx.req;
  const n = req.u64(req.arg + L.FORGET_IN.fields.nlookup);
  if (req.nodeid > 0 && n > 0) ctx.nodes.forget(req.nodeid, n);
  return 0;
}

/** BATCH_FORGET: `count` fuse_forget_one records, as many as the request holds. No reply. */
export function batchForget(ctx: FsContext): number {
  const req = ctx.req;
  const count = req.u32(req.arg + L.BATCH_FORGET_IN.fields.count);
  const first = req.arg + L.BATCH_FORGET_IN.size;
  const fits = Math.floor((req.len - first) / L.FORGET_ONE.size);
  const f = L.FORGET_ONE.fields;
  for (let i = 0, at = first; i < Math.min(count, fits); i++, at += L.FORGET_ONE.size) {
    const id = req.u64(at + f.nodeid);
    const n = req.u64(at + f.nlookup);
    if (id > 0 && n > 0) ctx.nodes.forget(id, n);
  }
  return 0;
}

/** GETATTR: fuse_attr_out of the node (the fh, when given, names the same inode). */
export function getattr(ctx: FsContext): number {
  const node = ctx.node(ctx.req.nodeid);
  if (!node) return ctx.error(ESTALE);
  const r = ctx.host.stat(node.fd, ctx.stx);
  return r < 0 ? ctx.error(-r) : ctx.attrReply();
}

const CHANGES = L.FATTR_MODE | L.FATTR_UID | L.FATTR_GID | L.FATTR_SIZE | L.FATTR_ATIME | L.FATTR_MTIME;
const TS = fsLayout.TIMESPEC;
const times = new Uint8Array(2 * TS.size);
const timesView = new DataView(times.buffer);

/** SETATTR: mode, owner, size, times, in that order; then fuse_attr_out. */
export function setattr(ctx: FsContext): number {
  const req = ctx.req;
  const node = ctx.node(req.nodeid);
  if (!node) return ctx.error(ESTALE);
  const s = L.SETATTR_IN.fields;
  const at = req.arg;
  const valid = req.u32(at + s.valid);
  if (valid & (CHANGES | L.FATTR_ATIME_NOW | L.FATTR_MTIME_NOW) && ctx.opts.readonly) return ctx.error(EROFS);
  const host = ctx.host;
  const fs = host.fs;
  if (valid & L.FATTR_MODE) {
    if (node.type === C.S_IFLNK) return ctx.error(EOPNOTSUPP);
    const mode = req.u32(at + s.mode) & 0o7777;
    if (fs.fchmodat(host.procFd, host.procNameOf(node.fd), mode, 0) !== 0) return ctx.error(-host.err());
  }
  if (valid & (L.FATTR_UID | L.FATTR_GID)) {
    const uid = valid & L.FATTR_UID ? ctx.uids.toHost(req.u32(at + s.uid)) : 0xffff_ffff;
    const gid = valid & L.FATTR_GID ? ctx.gids.toHost(req.u32(at + s.gid)) : 0xffff_ffff;
    if (uid === -1 || gid === -1) return ctx.error(EPERM);
    if (fs.fchownat(node.fd, EMPTY_PATH, uid, gid, C.AT_EMPTY_PATH | C.AT_SYMLINK_NOFOLLOW) !== 0)
      return ctx.error(-host.err());
  }
  if (valid & L.FATTR_SIZE) {
    const size = req.u64(at + s.size);
    if (size < 0 || size > ctx.opts.maxFileSize) return ctx.error(EFBIG);
    if (node.type === C.S_IFDIR) return ctx.error(EISDIR);
    if (node.type !== C.S_IFREG) return ctx.error(EINVAL);
    const h = valid & L.FATTR_FH ? ctx.handles.get(req.u64(at + s.fh)) : undefined;
    if (h && h.writable && !h.dir) {
      if (fs.ftruncate(h.fd, size) !== 0) return ctx.error(-host.err());
    } else {
      const fd = host.reopen(node.fd, C.O_WRONLY);
      if (fd < 0) return ctx.error(-fd);
      const r = fs.ftruncate(fd, size);
      const e = r !== 0 ? host.err() : 0;
      host.close(fd);
      if (e) return ctx.error(-e);
    }
  }
  // A truncate or chown by a caller without CAP_FSETID (never sent with a mode of its own).
  const killing = L.FATTR_SIZE | L.FATTR_UID | L.FATTR_GID;
  if (valid & L.FATTR_KILL_SUIDGID && valid & killing && !(valid & L.FATTR_MODE) && node.type === C.S_IFREG)
    killSuidSgid(ctx, node.fd);
  if (valid & (L.FATTR_ATIME | L.FATTR_MTIME | L.FATTR_ATIME_NOW | L.FATTR_MTIME_NOW)) {
    setTime(ctx, 0, valid & L.FATTR_ATIME_NOW, valid & L.FATTR_ATIME, at + s.atime, at + s.atimensec);
    setTime(ctx, TS.size, valid & L.FATTR_MTIME_NOW, valid & L.FATTR_MTIME, at + s.mtime, at + s.mtimensec);
    if (fs.utimensat(node.fd, EMPTY_PATH, times, C.AT_EMPTY_PATH) !== 0) return ctx.error(-host.err());
  }
  const r = host.stat(node.fd, ctx.stx);
  return r < 0 ? ctx.error(-r) : ctx.attrReply();
}

/** One struct timespec of utimensat's pair: now, the request's time, or left alone. */
function setTime(ctx: FsContext, to: number, now: number, given: number, sec: number, nsec: number): void {
  const f = TS.fields;
  const dv = ctx.req.dv;
  if (now || given) {
    timesView.setUint32(to + f.tv_sec, now ? 0 : dv.getUint32(sec, true), true);
    timesView.setUint32(to + f.tv_sec + 4, now ? 0 : dv.getUint32(sec + 4, true), true);
    timesView.setUint32(
      to + f.tv_nsec,
      now ? C.UTIME_NOW : Math.min(dv.getUint32(nsec, true), 999_999_999),
      true,
    );
  } else {
    timesView.setUint32(to + f.tv_sec, 0, true);
    timesView.setUint32(to + f.tv_sec + 4, 0, true);
    timesView.setUint32(to + f.tv_nsec, C.UTIME_OMIT, true);
  }
  timesView.setUint32(to + f.tv_nsec + 4, 0, true);
}

/** READLINK: the target, as the bytes it is (no NUL). */
export function readlink(ctx: FsContext): number {
  const node = ctx.node(ctx.req.nodeid);
  if (!node) return ctx.error(ESTALE);
  if (node.type !== C.S_IFLNK) return ctx.error(EINVAL);
  const n = ctx.host.fs.readlinkat(node.fd, EMPTY_PATH, ctx.payload, Math.min(PATH_MAX, ctx.capacity));
  return n < 0 ? ctx.error(-ctx.host.err()) : ctx.ok(n);
}

/** STATFS: the host file system's numbers (fuse_kstatfs from fstatvfs). */
export function statfs(ctx: FsContext): number {
  const node = ctx.node(ctx.req.nodeid);
  if (!node) return ctx.error(ESTALE);
  const v = fsLayout.STATVFS;
  const buf = ctx.stx2; // 256 bytes: room for a struct statvfs
  if (ctx.host.fs.fstatvfs(node.fd, buf) !== 0) return ctx.error(-ctx.host.err());
  const src = ctx.stx2View;
  const at = L.OUT_HEADER.size;
  const k = L.KSTATFS.fields;
  const dv = ctx.dv;
  const copy = (from: number, to: number) => {
    dv.setUint32(at + to, src.getUint32(from, true), true);
    dv.setUint32(at + to + 4, src.getUint32(from + 4, true), true);
  };
  copy(v.fields.f_blocks, k.blocks);
  copy(v.fields.f_bfree, k.bfree);
  copy(v.fields.f_bavail, k.bavail);
  copy(v.fields.f_files, k.files);
  copy(v.fields.f_ffree, k.ffree);
  dv.setUint32(at + k.bsize, src.getUint32(v.fields.f_bsize, true), true);
  dv.setUint32(at + k.namelen, src.getUint32(v.fields.f_namemax, true), true);
  dv.setUint32(at + k.frsize, src.getUint32(v.fields.f_frsize, true), true);
  ctx.out.fill(0, at + k.frsize + 4, at + L.KSTATFS.size);
  return ctx.ok(L.STATFS_OUT.size);
}
