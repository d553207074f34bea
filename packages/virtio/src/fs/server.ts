// The FUSE server of a shared directory, transport-agnostic: `handle()` takes one request's bytes
// (fuse_in_header and its arguments, include/uapi/linux/fuse.h) and writes the reply's bytes
// (fuse_out_header and its payload) into `reply`, returning their length: 0 when the request has
// no reply (FORGET, BATCH_FORGET). /dev/fuse (dev-fuse.ts) and a virtio-fs queue (virtio 1.2 §5.11)
// both carry exactly these bytes. A malformed or hostile request gets an errno reply, never a throw.
// Synchronous: every host call is made on the calling thread (serve it from its own thread).
import { cString, fsAt, fsConst as C, fsErrno } from '@vmm/hypervisor';
import { FsContext, type FsStats } from './context';
import type { DirectIo } from './direct-io';
import { EIO, ENOSYS, EPROTO } from './errno';
import { FsShareError } from './errors';
import { reserveShareFds } from './fd-budget';
import * as L from './layout';
import * as entry from './ops-entry';
import * as file from './ops-file';
import * as dir from './ops-dir';
import * as make from './ops-create';
import * as xattr from './ops-xattr';
import { resolveFsOptions, type FuseServerOptions, type ResolvedFsOptions } from './options';
import {
  fsSessionFault,
  restoreSession,
  saveSession,
  type FsRestoreCount,
  type FsSessionState,
} from './session';

const I = L.INIT_IN.fields;
const IO = L.INIT_OUT.fields;

export class FuseServer {
  readonly options: ResolvedFsOptions;
  /** The largest request there can be: header, fuse_write_in and maxWrite bytes of data. */
  readonly maxRequestSize: number;
  private readonly ctx: FsContext;
  private initialized = false;
  /** The protocol minor version agreed at INIT. */
  minor = 0;
  private closed = false;

  constructor(options: FuseServerOptions) {
    this.options = resolveFsOptions(options);
    reserveShareFds(this.options);
    const fs = fsAt();
    const rootFd = fs.openat(
      C.AT_FDCWD,
      cString(this.options.root),
      C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC,
      0,
    );
    if (rootFd < 0) {
      const e = fsErrno();
      throw new FsShareError(
        'FS_ROOT',
        `cannot share ${this.options.root} (errno ${e}): ` +
          (e === 2
            ? 'it does not exist; create it'
            : e === 20
              ? 'it is not a directory'
              : 'check the path and its permissions'),
      );
    }
    try {
      this.ctx = new FsContext(this.options, rootFd);
    } catch (e) {
      fs.close(rootFd);
      throw e;
    }
    this.maxRequestSize = L.WRITE_HEAD + this.options.maxWrite;
  }

  /** The reply buffer: `handle()` writes each reply at its start. */
  get reply(): Uint8Array {
    return this.ctx.out;
  }

  /** The last reply's payload is already in the transport's buffers (DirectIo.read). */
  get payloadPlaced(): boolean {
    return this.ctx.placed;
  }

  get stats(): FsStats {
    return this.ctx.stats;
  }

  /** How many host inodes and open files the guest holds. */
  get held(): { nodes: number; handles: number } {
    return { nodes: this.ctx.nodes.size, handles: this.ctx.handles.size };
  }

  /** Every host fd the server holds for the guest (nodes, the root's included, and open files). */
  heldFds(): number[] {
    return [...this.ctx.nodes.fds(), ...this.ctx.handles.fds()];
  }

  /**
   * Serves the request in request[0, length): writes the reply into `reply` and returns its length
   * (0: no reply). `room`: the most reply bytes the transport can deliver (a virtqueue chain's
   * writable bytes); READ, READDIR, READLINK and xattr payloads are cut to fit it. `direct`: the
   * transport's own buffers for READ and WRITE data (with direct.writeData, a WRITE's data is not in
   * `request`); when `payloadPlaced` is then true, only the reply's header is in `reply`.
   */
  handle(
    request: Uint8Array,
    length = request.length,
    room = this.ctx.out.length,
    direct?: DirectIo,
  ): number {
    const ctx = this.ctx;
    ctx.stats.requests++;
    ctx.room = Math.max(0, Math.min(room, ctx.out.length));
    ctx.direct = direct;
    ctx.placed = false;
    try {
      return this.dispatch(request, length);
    } catch (e) {
      // A bug, not the guest's doing: answer EIO, say so once in a while, keep serving.
      ctx.stats.internalErrors++;
      ctx.placed = false;
      ctx.warn(
        'internal',
        `vmm fs: internal error on opcode ${ctx.req.opcode}: ${(e as Error)?.stack ?? String(e)}`,
      );
      const op = ctx.req.opcode;
      return op === L.FUSE_FORGET || op === L.FUSE_BATCH_FORGET ? 0 : ctx.error(EIO);
    }
  }

  private dispatch(request: Uint8Array, length: number): number {
    const ctx = this.ctx;
    const req = ctx.req;
    const bad = req.parse(request, length);
    const op = req.opcode;
    if (op === L.FUSE_FORGET || op === L.FUSE_BATCH_FORGET) {
      if (bad || !this.initialized || this.closed) return 0;
      return op === L.FUSE_FORGET ? entry.forget(ctx) : entry.batchForget(ctx);
    }
    if (bad) return ctx.error(bad);
    if (this.closed) return ctx.error(EIO);
    if (op === L.FUSE_INIT) return this.init();
    if (!this.initialized) return ctx.error(EIO);
    switch (op) {
      case L.FUSE_LOOKUP:
        return entry.lookup(ctx);
      case L.FUSE_GETATTR:
        return entry.getattr(ctx);
      case L.FUSE_SETATTR:
        return entry.setattr(ctx);
      case L.FUSE_READLINK:
        return entry.readlink(ctx);
      case L.FUSE_STATFS:
        return entry.statfs(ctx);
      case L.FUSE_SYMLINK:
        return make.symlink(ctx);
      case L.FUSE_MKNOD:
        return make.mknod(ctx);
      case L.FUSE_MKDIR:
        return make.mkdir(ctx);
      case L.FUSE_UNLINK:
        return make.unlink(ctx, false);
      case L.FUSE_RMDIR:
        return make.unlink(ctx, true);
      case L.FUSE_RENAME:
        return make.rename(ctx, false);
      case L.FUSE_RENAME2:
        return make.rename(ctx, true);
      case L.FUSE_LINK:
        return make.link(ctx);
      case L.FUSE_CREATE:
        return make.create(ctx);
      case L.FUSE_OPEN:
        return file.open(ctx);
      case L.FUSE_READ:
        return file.read(ctx);
      case L.FUSE_WRITE:
        return file.write(ctx);
      case L.FUSE_FLUSH:
        return file.flush(ctx);
      case L.FUSE_RELEASE:
      case L.FUSE_RELEASEDIR:
        return file.release(ctx);
      case L.FUSE_FSYNC:
      case L.FUSE_FSYNCDIR:
        return file.fsync(ctx);
      case L.FUSE_FALLOCATE:
        return file.fallocate(ctx);
      case L.FUSE_LSEEK:
        return file.lseek(ctx);
      case L.FUSE_OPENDIR:
        return dir.opendir(ctx);
      case L.FUSE_READDIR:
        return dir.readdir(ctx, false);
      case L.FUSE_READDIRPLUS:
        return dir.readdir(ctx, true);
      case L.FUSE_GETXATTR:
        return xattr.getxattr(ctx, false);
      case L.FUSE_LISTXATTR:
        return xattr.getxattr(ctx, true);
      case L.FUSE_SETXATTR:
        return xattr.setxattr(ctx);
      case L.FUSE_REMOVEXATTR:
        return xattr.removexattr(ctx);
      case L.FUSE_DESTROY:
        return this.destroy();
      default:
        // INTERRUPT (every request is answered before the next is read), locks (the guest kernel
        // keeps them), ACCESS (the guest checks permissions: default_permissions), IOCTL, POLL,
        // BMAP, COPY_FILE_RANGE, DAX mappings, SYNCFS and anything newer: the kernel falls back.
        return ctx.error(ENOSYS);
    }
  }

  /** INIT: agree on 7.33 (or the kernel's older minor, down to 7.23) and the features we serve. */
  private init(): number {
    const ctx = this.ctx;
    const req = ctx.req;
    const major = req.u32(req.arg + I.major);
    const minor = req.u32(req.arg + I.minor);
    const out = L.OUT_HEADER.size;
    ctx.out.fill(0, out, out + L.INIT_OUT.size);
    if (major < L.FUSE_KERNEL_VERSION) return ctx.error(EPROTO);
    ctx.dv.setUint32(out + IO.major, L.FUSE_KERNEL_VERSION, true);
    ctx.dv.setUint32(out + IO.minor, L.FUSE_KERNEL_MINOR_VERSION, true);
    // A newer major: answer ours and nothing else; the kernel sends INIT again at 7 (fuse.h).
    if (major > L.FUSE_KERNEL_VERSION) return ctx.ok(L.INIT_OUT.size);
    if (minor < L.FUSE_MIN_MINOR_VERSION) return ctx.error(EPROTO);
    const cache = this.options.cache;
    let want =
      L.FUSE_ASYNC_READ |
      L.FUSE_BIG_WRITES |
      L.FUSE_ASYNC_DIO |
      L.FUSE_PARALLEL_DIROPS |
      L.FUSE_MAX_PAGES |
      L.FUSE_HANDLE_KILLPRIV_V2;
    if (cache !== 'never') want |= L.FUSE_DO_READDIRPLUS | L.FUSE_READDIRPLUS_AUTO;
    if (cache === 'auto') want |= L.FUSE_AUTO_INVAL_DATA;
    if (cache === 'always') want |= L.FUSE_CACHE_SYMLINKS;
    const dv = ctx.dv;
    this.minor = Math.min(minor, L.FUSE_KERNEL_MINOR_VERSION);
    dv.setUint32(out + IO.max_readahead, req.u32(req.arg + I.max_readahead), true);
    dv.setUint32(out + IO.flags, (want & req.u32(req.arg + I.flags)) >>> 0, true);
    dv.setUint16(out + IO.max_background, 16, true);
    dv.setUint16(out + IO.congestion_threshold, 12, true);
    dv.setUint32(out + IO.max_write, this.options.maxWrite, true);
    dv.setUint32(out + IO.time_gran, 1, true);
    dv.setUint16(out + IO.max_pages, this.options.maxWrite / 4096, true);
    this.initialized = true;
    return ctx.ok(L.INIT_OUT.size);
  }

  /** The guest's session (the VM paused): what a snapshot keeps of the share (session.ts). */
  saveSession(): FsSessionState {
    return saveSession(this.ctx, this.initialized ? this.minor : 0);
  }

  /**
   * The session a snapshot kept, brought back into this new server before the guest runs again:
   * its node ids and open files opened anew beneath the share (those gone are left out: ESTALE or
   * EBADF for the guest), INIT as agreed then. Throws when `state` is malformed or the server has
   * served a request already.
   */
  restoreSession(state: unknown): FsRestoreCount {
    const fault = fsSessionFault(state, this.options.maxNodes, this.options.maxHandles);
    if (fault) throw new FsShareError('FS_SESSION', `the saved virtio-fs session is unusable: ${fault}`);
    if (this.initialized || this.ctx.nodes.size > 1 || this.ctx.handles.size > 0)
      throw new FsShareError(
        'FS_SESSION',
        'a session can only be restored into a server that has served nothing',
      );
    const s = state as FsSessionState;
    const count = restoreSession(this.ctx, s);
    this.minor = s.minor;
    this.initialized = s.minor > 0;
    return count;
  }

  /** DESTROY: the guest unmounted; everything it held is let go. A new INIT may follow. */
  private destroy(): number {
    this.reset();
    return this.ctx.ok(0);
  }

  /** What a device reset does: every node and open file let go, INIT awaited again. */
  reset(): void {
    this.releaseAll();
    this.initialized = false;
  }

  private releaseAll(): void {
    this.ctx.handles.clear();
    this.ctx.nodes.clear();
  }

  /** Lets go of every host fd (the root's included). The server answers EIO from then on. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseAll();
    this.ctx.host.close(this.ctx.nodes.root.fd);
    this.ctx.host.dispose();
  }
}
