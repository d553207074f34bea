// The FUSE server over /dev/fuse, the host kernel's own FUSE client as the far end (tier 3 tests,
// `pnpm bench fs`): mount(2) a "fuse" file system on a directory with an fd of /dev/fuse, then read
// one request per read(2) and answer it with one write(2); big READs and WRITEs move their data
// with splice(2) (dev-fuse-splice.ts). Documentation/filesystems/fuse.rst.
// Root only (mount(2) needs CAP_SYS_ADMIN). The loop blocks its thread until the file system is
// unmounted: run it in a process or worker of its own.
import { cString, fsAt, fsConst as C, fsErrno, fsLayout, pollTable, type FsAt } from '@vmm/hypervisor';
import { AdaptivePollWindow } from '../adaptive-poll';
import { FsShareError } from './errors';
import { EAGAIN, ENOENT } from './errno';
import { alignedBuffer } from './aligned';
import { FuseSplice } from './dev-fuse-splice';
import { FUSE_MIN_READ_BUFFER, WRITE_HEAD } from './layout';
import type { FuseServer } from './server';

const EINTR = 4;
const ENODEV = 19;
/** The largest SETXATTR request (header, fuse_setxattr_in, a name, a 64 KiB value), with room. */
const LARGEST_XATTR_REQUEST = 72 * 1024;

export interface FuseMountOptions {
  /** What `mount` lists as the source (default "vmm-fs"). */
  fsname?: string;
  /** The largest READ the kernel may send, in bytes (default: the server's maxWrite). */
  maxRead?: number;
}

/**
 * Opens /dev/fuse and mounts a FUSE file system served through it at `target`, nosuid and nodev,
 * with the kernel checking permissions (default_permissions) for every user (allow_other).
 * Returns the /dev/fuse fd to serve.
 */
export function mountFuse(target: string, server: FuseServer, options: FuseMountOptions = {}): number {
  const fs = fsAt();
  const fd = fs.openat(C.AT_FDCWD, cString('/dev/fuse'), C.O_RDWR | C.O_CLOEXEC, 0);
  if (fd < 0)
    throw new FsShareError(
      'FS_DEV_FUSE',
      `cannot open /dev/fuse (errno ${fsErrno()}): load the fuse module, run as root`,
    );
  const data = [
    `fd=${fd}`,
    'rootmode=40000',
    `user_id=${process.getuid?.() ?? 0}`,
    `group_id=${process.getgid?.() ?? 0}`,
    'default_permissions',
    'allow_other',
    `max_read=${options.maxRead ?? server.options.maxWrite}`,
  ].join(',');
  const r = fs.mount(
    cString(options.fsname ?? 'vmm-fs'),
    cString(target),
    cString('fuse.vmm'),
    C.MS_NOSUID | C.MS_NODEV,
    cString(data),
  );
  if (r !== 0) {
    const e = fsErrno();
    fs.close(fd);
    throw new FsShareError(
      'FS_MOUNT',
      `mount of ${target} failed (errno ${e}): it must be a directory; run as root`,
    );
  }
  return fd;
}

/** Detaches the mount at `target` (MNT_DETACH): the serving loop then ends. */
export function unmountFuse(target: string): void {
  const fs = fsAt();
  if (fs.umount2(cString(target), C.MNT_DETACH) !== 0)
    throw new FsShareError('FS_UMOUNT', `umount of ${target} failed (errno ${fsErrno()})`);
}

export interface FuseDeviceStats {
  requests: number;
  /** Replies the kernel refused: the request was interrupted (ENOENT), or a reply was malformed. */
  refusedReplies: number;
  /** Requests read while busy-polling, with no sleep in poll(2) before them. */
  polled: number;
  /** READ replies spliced from the file (dev-fuse-splice.ts), and those copied after all. */
  spliced: number;
  spliceFellBack: number;
  /** WRITEs whose data was spliced from the pipe to the file. */
  splicedWrites: number;
}

export interface FuseServeOptions {
  /**
   * The most microseconds the loop busy-polls /dev/fuse (non-blocking reads) after a reply before
   * it sleeps in poll(2): adaptive (adaptive-poll.ts), so an idle mount never polls, and one
   * request after another is caught without a wake-up of this thread (default
   * DEFAULT_FUSE_POLL_US; 0: read(2) blocks at once).
   */
  pollUs?: number;
  /** Splice READ data from the file into /dev/fuse and, after a big WRITE, the next WRITE's data
   *  from /dev/fuse into the file: one copy instead of two (default true; dev-fuse-splice.ts). */
  splice?: boolean;
}

/**
 * FuseServeOptions.pollUs when not given. A client making one call after another (a build,
 * `cp -r`, `rm -r`) sends its next request within tens of µs of a reply: windows of 20, 50 and
 * 200 µs caught 92-99.6 % of them here (docs/benchmarks.md, "fs: busy-polling /dev/fuse").
 */
export const DEFAULT_FUSE_POLL_US = 50;
/** The largest pollUs taken (past it, polling is a spinning thread), as for a disk. */
export const MAX_FUSE_POLL_US = 100_000;

/**
 * Serves the requests the kernel queues on `fd` until the file system is unmounted (read(2) says
 * ENODEV), then closes `fd`. Blocks the calling thread throughout.
 */
export function serveFuseDevice(
  fd: number,
  server: FuseServer,
  options: FuseServeOptions = {},
): FuseDeviceStats {
  const pollUs = options.pollUs ?? DEFAULT_FUSE_POLL_US;
  if (!(Number.isInteger(pollUs) && pollUs >= 0 && pollUs <= MAX_FUSE_POLL_US))
    throw new RangeError(`/dev/fuse poll ${pollUs} µs is not a whole number from 0 to ${MAX_FUSE_POLL_US}`);
  const fs = fsAt();
  const size = Math.max(FUSE_MIN_READ_BUFFER, server.maxRequestSize, LARGEST_XATTR_REQUEST);
  // A WRITE's data page-aligned, as the page-cache pages the kernel copies it from.
  const buf = alignedBuffer(size, WRITE_HEAD);
  const reply = server.reply;
  const stats: FuseDeviceStats = {
    requests: 0,
    refusedReplies: 0,
    polled: 0,
    spliced: 0,
    spliceFellBack: 0,
    splicedWrites: 0,
  };
  // No READ or WRITE is larger than max_pages (maxWrite / 4096 pages) lets it be.
  const splicer = options.splice === false ? undefined : new FuseSplice(buf, server.options.maxWrite);
  let spliceNext = false;
  const read = (): number => (spliceNext ? splicer!.readRequest(fd) : readOne(fs, fd, buf));
  const next = pollUs > 0 ? pollingReader(fd, read, pollUs, stats) : read;
  for (;;) {
    const n = next();
    if (n < 0) {
      // ENOENT: the request was interrupted before it was read; EINTR/EAGAIN: try again.
      if (n === -EINTR || n === -EAGAIN || n === -ENOENT) continue;
      if (n === -ENODEV) break;
      fs.close(fd);
      throw new FsShareError('FS_DEV_FUSE', `read from /dev/fuse failed (errno ${-n})`);
    }
    stats.requests++;
    const len = server.handle(buf, n, reply.length, splicer);
    if (splicer) spliceNext = splicer.endRequest(n);
    if (len <= 0) continue;
    const r =
      splicer && server.payloadPlaced ? splicer.send(fd) : fs.write(fd, reply, len) < 0 ? -fsErrno() : len;
    if (r === -ENODEV) break;
    if (r < 0) stats.refusedReplies++;
  }
  fs.close(fd);
  if (splicer) {
    stats.spliced = splicer.spliced;
    stats.spliceFellBack = splicer.fellBack;
    stats.splicedWrites = splicer.splicedWrites;
    splicer.close();
  }
  return stats;
}

/** One read(2) of a request: its length, or -errno. */
function readOne(fs: FsAt, fd: number, buf: Uint8Array): number {
  const n = fs.read(fd, buf, buf.length);
  return n >= 0 ? n : -fsErrno();
}

/**
 * A reader that, after each request, tries non-blocking reads for the adaptive window before it
 * sleeps in poll(2) until /dev/fuse is readable (a request, or the unmount: then read(2) says
 * ENODEV). Sets O_NONBLOCK on `fd`.
 */
function pollingReader(fd: number, read: () => number, pollUs: number, stats: FuseDeviceStats): () => number {
  const fs = fsAt();
  const flags = fs.fcntlInt(fd, C.F_GETFL, 0);
  if (flags < 0 || fs.fcntlInt(fd, C.F_SETFL, flags | C.O_NONBLOCK) < 0)
    throw new FsShareError('FS_DEV_FUSE', `cannot make /dev/fuse non-blocking (errno ${fsErrno()})`);
  const window = new AdaptivePollWindow(pollUs * 1000);
  const pfd = pollTable([fd]);
  const pv = new DataView(pfd.buffer);
  return () => {
    const t0 = performance.now();
    const until = t0 + window.ns / 1e6;
    let slept = false;
    let tries = 0;
    for (;;) {
      const n = read();
      if (n !== -EAGAIN) {
        if (n >= 0) {
          window.record((performance.now() - t0) * 1e6);
          if (!slept) stats.polled++;
        }
        return n;
      }
      // The clock every 8th try (a read(2) each, ~0.3-1.3 µs): performance.now() allocates.
      if (!slept && window.ns > 0 && ((++tries & 7) !== 0 || performance.now() < until)) continue;
      slept = true;
      pv.setInt16(fsLayout.POLLFD.fields.revents, 0, true);
      fs.poll(pfd, 1, -1); // EINTR, or readable: read again either way
    }
  };
}
