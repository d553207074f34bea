// FUSE operations on open files (fuse.h): OPEN, READ, WRITE, FLUSH, RELEASE, FSYNC, FALLOCATE,
// LSEEK. READ reads from the host fd straight into the reply buffer and WRITE writes from the
// request buffer, or both straight from and into the transport's buffers (direct-io.ts): no copy
// in between.
import { fsConst as C } from '@vmm/hypervisor';
import type { FsContext } from './context';
import { NOT_DIRECT } from './direct-io';
import { EACCES, EBADF, EFBIG, EINVAL, EISDIR, EMFILE, EOPNOTSUPP, EROFS, ESTALE } from './errno';
import { opensForWriting, type FsHandle } from './handles';
import { killSuidSgid } from './kill-suid';
import * as L from './layout';

/** The open flags the server passes on to the host: access mode, append, sync; nothing that would
 *  change what is opened (O_CREAT, O_NOFOLLOW, O_PATH, O_DIRECTORY, O_TMPFILE) or need aligned
 *  buffers (O_DIRECT), nor O_NOATIME (owner only). */
export const PASSED_OPEN_FLAGS = C.O_ACCMODE | C.O_APPEND | C.O_NONBLOCK | C.O_SYNC | C.O_DSYNC | C.O_TRUNC;

/** fuse_open_out.open_flags for a file, by cache mode; never a FLUSH (ours would do nothing). */
export function fileOpenFlags(ctx: FsContext): number {
  const c = ctx.opts.cache;
  return L.FOPEN_NOFLUSH | (c === 'never' ? L.FOPEN_DIRECT_IO : c === 'always' ? L.FOPEN_KEEP_CACHE : 0);
}

/** Writes fuse_open_out at `at` in the reply. */
export function writeOpenOut(ctx: FsContext, at: number, fh: number, flags: number): void {
  ctx.u64(at + L.OPEN_OUT.fields.fh, fh);
  ctx.dv.setUint32(at + L.OPEN_OUT.fields.open_flags, flags, true);
  ctx.dv.setUint32(at + L.OPEN_OUT.fields.open_flags + 4, 0, true);
}

/** OPEN: a regular file, reopened from its node. Devices, FIFOs and sockets are never opened. */
export function open(ctx: FsContext): number {
  const req = ctx.req;
  const node = ctx.node(req.nodeid);
  if (!node) return ctx.error(ESTALE);
  if (node.type === C.S_IFDIR) return ctx.error(EISDIR);
  if (node.type !== C.S_IFREG) return ctx.error(EACCES);
  const flags = req.u32(req.arg + L.OPEN_IN.fields.flags) & PASSED_OPEN_FLAGS;
  if (ctx.opts.readonly && (opensForWriting(flags) || flags & C.O_TRUNC)) return ctx.error(EROFS);
  const fd = ctx.host.reopen(node.fd, flags);
  if (fd < 0) return ctx.error(-fd);
  if (flags & C.O_TRUNC && req.u32(req.arg + L.OPEN_IN.fields.open_flags) & L.FUSE_OPEN_KILL_SUIDGID)
    killSuidSgid(ctx, fd);
  const h = ctx.handles.open(fd, false, flags);
  if (!h) return tooManyOpen(ctx);
  writeOpenOut(ctx, L.OUT_HEADER.size, h.fh, fileOpenFlags(ctx));
  return ctx.ok(L.OPEN_OUT.size);
}

export function tooManyOpen(ctx: FsContext): number {
  ctx.warn(
    'handles',
    `vmm fs: the guest holds ${ctx.handles.max} open files (maxHandles): opens fail with EMFILE`,
  );
  return ctx.error(EMFILE);
}

/** The file handle a request names at `at`, if it is one. */
function fileHandle(ctx: FsContext, at: number): FsHandle | undefined {
  const h = ctx.handles.get(ctx.req.u64(at));
  return h && !h.dir ? h : undefined;
}

/** READ: up to `size` bytes at `offset`, straight into the reply (or the transport's buffers). */
export function read(ctx: FsContext): number {
  const req = ctx.req;
  const r = L.READ_IN.fields;
  const h = fileHandle(ctx, req.arg + r.fh);
  if (!h) return ctx.error(EBADF);
  const offset = req.u64(req.arg + r.offset);
  if (offset < 0) return ctx.error(EINVAL);
  const size = Math.min(req.u32(req.arg + r.size), ctx.capacity);
  let n = ctx.direct ? ctx.direct.read(h.fd, size, offset) : NOT_DIRECT;
  if (n !== NOT_DIRECT) ctx.placed = n >= 0;
  else {
    n = ctx.host.fs.pread(h.fd, ctx.payload, size, offset);
    if (n < 0) n = ctx.host.err();
  }
  if (n < 0) return ctx.error(-n);
  ctx.stats.bytesRead += n;
  return ctx.ok(n);
}

/** WRITE: the request's data at `offset`, straight from the request buffer (or the transport's). */
export function write(ctx: FsContext): number {
  const req = ctx.req;
  if (ctx.opts.readonly) return ctx.error(EROFS);
  const w = L.WRITE_IN.fields;
  const h = fileHandle(ctx, req.arg + w.fh);
  if (!h || !h.writable) return ctx.error(EBADF);
  const offset = req.u64(req.arg + w.offset);
  const size = req.u32(req.arg + w.size);
  const data = req.arg + L.WRITE_IN.size;
  if (offset < 0 || size > req.len - data) return ctx.error(EINVAL);
  if (offset + size > ctx.opts.maxFileSize) return ctx.error(EFBIG);
  if (req.u32(req.arg + w.write_flags) & L.FUSE_WRITE_KILL_SUIDGID) killSuidSgid(ctx, h.fd);
  const direct = ctx.direct;
  let n: number;
  if (direct?.writeData) n = direct.write(h.fd, data, size, offset);
  else {
    n = ctx.host.fs.pwrite(h.fd, req.tail(data), size, offset);
    if (n < 0) n = ctx.host.err();
  }
  if (n < 0) return ctx.error(-n);
  ctx.stats.bytesWritten += n;
  ctx.dv.setUint32(L.OUT_HEADER.size + L.WRITE_OUT.fields.size, n, true);
  ctx.dv.setUint32(L.OUT_HEADER.size + L.WRITE_OUT.fields.size + 4, 0, true);
  return ctx.ok(L.WRITE_OUT.size);
}

/** FLUSH (each close(2) in the guest): nothing is buffered here, and the server takes no locks. */
export function flush(ctx: FsContext): number {
  return fileHandle(ctx, ctx.req.arg + L.FLUSH_IN.fields.fh) ? ctx.ok(0) : ctx.error(EBADF);
}

/** RELEASE and RELEASEDIR: the handle's fd is closed. */
export function release(ctx: FsContext): number {
  const fh = ctx.req.u64(ctx.req.arg + L.RELEASE_IN.fields.fh);
  const h = ctx.handles.get(fh);
  if (!h) return ctx.error(EBADF);
  if (h.dirBuf) ctx.giveDirBuffer(h.dirBuf);
  h.dirBuf = null;
  h.dirView = null;
  ctx.handles.release(fh);
  return ctx.ok(0);
}

/** FSYNC and FSYNCDIR: fsync, or fdatasync when FUSE_FSYNC_FDATASYNC. */
export function fsync(ctx: FsContext): number {
  const req = ctx.req;
  const f = L.FSYNC_IN.fields;
  const h = ctx.handles.get(req.u64(req.arg + f.fh));
  if (!h) return ctx.error(EBADF);
  const fs = ctx.host.fs;
  const r = req.u32(req.arg + f.fsync_flags) & L.FUSE_FSYNC_FDATASYNC ? fs.fdatasync(h.fd) : fs.fsync(h.fd);
  return r !== 0 ? ctx.error(-ctx.host.err()) : ctx.ok(0);
}

const FALLOCATE_MODES = C.FALLOC_FL_KEEP_SIZE | C.FALLOC_FL_PUNCH_HOLE | C.FALLOC_FL_ZERO_RANGE;

/** FALLOCATE: allocate, punch a hole or zero a range (the host's fallocate(2) checks the mix). */
export function fallocate(ctx: FsContext): number {
  const req = ctx.req;
  if (ctx.opts.readonly) return ctx.error(EROFS);
  const f = L.FALLOCATE_IN.fields;
  const h = fileHandle(ctx, req.arg + f.fh);
  if (!h || !h.writable) return ctx.error(EBADF);
  const offset = req.u64(req.arg + f.offset);
  const length = req.u64(req.arg + f.length);
  const mode = req.u32(req.arg + f.mode);
  if (offset < 0 || length < 0) return ctx.error(EINVAL);
  if (mode & ~FALLOCATE_MODES) return ctx.error(EOPNOTSUPP);
  // Anything but a punched hole allocates host blocks (KEEP_SIZE too, past the end): bounded.
  if (!(mode & C.FALLOC_FL_PUNCH_HOLE) && offset + length > ctx.opts.maxFileSize) return ctx.error(EFBIG);
  return ctx.host.fs.fallocate(h.fd, mode, offset, length) !== 0 ? ctx.error(-ctx.host.err()) : ctx.ok(0);
}

/** LSEEK: SEEK_DATA / SEEK_HOLE on the host file (the guest keeps its own position otherwise). */
export function lseek(ctx: FsContext): number {
  const req = ctx.req;
  const f = L.LSEEK_IN.fields;
  const h = fileHandle(ctx, req.arg + f.fh);
  if (!h) return ctx.error(EBADF);
  const offset = req.u64(req.arg + f.offset);
  const whence = req.u32(req.arg + f.whence);
  if (offset < 0 || (whence !== C.SEEK_DATA && whence !== C.SEEK_HOLE)) return ctx.error(EINVAL);
  const r = ctx.host.fs.lseek(h.fd, offset, whence);
  if (r === -1) return ctx.error(-ctx.host.err());
  const at = L.OUT_HEADER.size + L.LSEEK_OUT.fields.offset;
  if (typeof r === 'bigint') {
    ctx.dv.setBigUint64(at, r, true);
  } else ctx.u64(at, r);
  return ctx.ok(L.LSEEK_OUT.size);
}
