// The FUSE server over /dev/fuse, the host kernel's own FUSE client as the far end (tier 3 tests,
// `pnpm bench fs`): mount(2) a "fuse" file system on a directory with an fd of /dev/fuse, then read
// one request per read(2) and answer it with one write(2) (Documentation/filesystems/fuse.rst).
// Root only (mount(2) needs CAP_SYS_ADMIN). The loop blocks its thread until the file system is
// unmounted: run it in a process or worker of its own.
import { cString, fsAt, fsConst as C, fsErrno } from '@vmm/hypervisor';
import { FsShareError } from './errors';
import { EAGAIN, ENOENT } from './errno';
import { alignedBuffer } from './aligned';
import { FUSE_MIN_READ_BUFFER, IN_HEADER, WRITE_IN } from './layout';
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
}

/**
 * Serves the requests the kernel queues on `fd` until the file system is unmounted (read(2) says
 * ENODEV), then closes `fd`. Blocks the calling thread throughout.
 */
export function serveFuseDevice(fd: number, server: FuseServer): FuseDeviceStats {
  const fs = fsAt();
  const size = Math.max(FUSE_MIN_READ_BUFFER, server.maxRequestSize, LARGEST_XATTR_REQUEST);
  // A WRITE's data page-aligned, as the page-cache pages the kernel copies it from.
  const buf = alignedBuffer(size, IN_HEADER.size + WRITE_IN.size);
  const reply = server.reply;
  const stats: FuseDeviceStats = { requests: 0, refusedReplies: 0 };
  for (;;) {
    const n = fs.read(fd, buf, buf.length);
    if (n < 0) {
      const e = fsErrno();
      // ENOENT: the request was interrupted before it was read; EINTR/EAGAIN: try again.
      if (e === EINTR || e === EAGAIN || e === ENOENT) continue;
      if (e === ENODEV) break;
      fs.close(fd);
      throw new FsShareError('FS_DEV_FUSE', `read from /dev/fuse failed (errno ${e})`);
    }
    stats.requests++;
    const len = server.handle(buf, n);
    if (len > 0 && fs.write(fd, reply, len) < 0) {
      const e = fsErrno();
      if (e === ENODEV) break;
      stats.refusedReplies++;
    }
  }
  fs.close(fd);
  return stats;
}
