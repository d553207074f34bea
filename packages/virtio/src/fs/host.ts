// Host file access for the server, one name at a time relative to a directory fd:
// - a name is looked up with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
//   and O_PATH|O_NOFOLLOW: one component, beneath its parent, a symlink returned as itself, never
//   followed (openat with O_NOFOLLOW where openat2 is missing, before Linux 5.6: the request parser
//   has already refused '/', "." and "..", so one component cannot leave its parent either way);
// - a node is reopened for I/O through /proc/self/fd/N, which names exactly the inode its O_PATH fd
//   holds, never a path: a host rename or a directory swapped for a symlink after the lookup changes
//   nothing about which file that is.
import { cString, fsAt, fsConst as C, fsErrno, fsLayout, type FsAt } from '@vmm/hypervisor';
import { FsShareError } from './errors';
import { ENOSYS, EPERM } from './errno';

/** "" for the *at() calls given AT_EMPTY_PATH: the fd itself. */
export const EMPTY_PATH = new Uint8Array(1);

const LOOKUP_FLAGS = C.O_PATH | C.O_NOFOLLOW | C.O_CLOEXEC;
const RESOLVE = C.RESOLVE_BENEATH | C.RESOLVE_NO_SYMLINKS | C.RESOLVE_NO_MAGICLINKS;
const STAT_FLAGS = C.AT_EMPTY_PATH | C.AT_SYMLINK_NOFOLLOW;
const PROC_PREFIX = new TextEncoder().encode('/proc/self/fd/');

export class HostFs {
  readonly fs: FsAt = fsAt();
  /** O_PATH fd of /proc/self/fd. */
  readonly procFd: number;
  private openat2 = true;
  private openTree = true;
  private readonly how = new Uint8Array(fsLayout.OPEN_HOW.size);
  private readonly howView = new DataView(this.how.buffer);
  /** "N\0" for openat(procFd, ...), and "/proc/self/fd/N\0" for the path-only calls (xattrs). */
  private readonly procName = new Uint8Array(16);
  private readonly procPathBuf = new Uint8Array(PROC_PREFIX.length + 16);

  constructor() {
    this.procFd = this.fs.openat(
      C.AT_FDCWD,
      cString('/proc/self/fd'),
      C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC,
      0,
    );
    if (this.procFd < 0)
      throw new FsShareError(
        'FS_PROC',
        `cannot open /proc/self/fd (errno ${fsErrno()}): the file server reopens files through it; mount /proc`,
      );
    this.procPathBuf.set(PROC_PREFIX);
    this.howView.setUint32(fsLayout.OPEN_HOW.fields.resolve, RESOLVE, true);
  }

  /** -errno of the call that just failed. */
  err(): number {
    return -fsErrno();
  }

  close(fd: number): void {
    this.fs.close(fd);
  }

  /** Opens one name beneath `dirfd` without following it: an fd, or -errno. `name` ends in NUL. */
  openBeneath(dirfd: number, name: Uint8Array, flags: number, mode: number): number {
    if (this.openat2) {
      const f = fsLayout.OPEN_HOW.fields;
      this.howView.setUint32(f.flags, (flags | C.O_NOFOLLOW | C.O_CLOEXEC) >>> 0, true);
      this.howView.setUint32(f.mode, mode & 0o7777, true);
      const fd = this.fs.openat2(dirfd, name, this.how, this.how.length);
      if (fd >= 0) return fd;
      const e = fsErrno();
      if (e !== ENOSYS) return -e;
      this.openat2 = false;
    }
    const fd = this.fs.openat(dirfd, name, flags | C.O_NOFOLLOW | C.O_CLOEXEC, mode & 0o7777);
    return fd >= 0 ? fd : this.err();
  }

  /** An O_PATH fd of the name beneath `dirfd` (a symlink as itself), or -errno. */
  lookup(dirfd: number, name: Uint8Array): number {
    return this.openBeneath(dirfd, name, LOOKUP_FLAGS, 0);
  }

  /**
   * An O_PATH fd of exactly the inode `fd` holds: open_tree(fd, "", AT_EMPTY_PATH) walks no path;
   * where the kernel or a container's filter refuses it, the reopen through /proc below. An fd,
   * or -errno.
   */
  pathOf(fd: number): number {
    if (this.openTree) {
      const r = this.fs.openTree(fd, EMPTY_PATH, C.AT_EMPTY_PATH | C.OPEN_TREE_CLOEXEC);
      if (r >= 0) return r;
      const e = fsErrno();
      if (e !== ENOSYS && e !== EPERM) return -e;
      this.openTree = false;
    }
    return this.reopen(fd, C.O_PATH);
  }

  /** Opens the inode that `fd` holds, anew with `flags`: an fd, or -errno. Only for files and dirs. */
  reopen(fd: number, flags: number): number {
    const r = this.fs.openat(this.procFd, this.procNameOf(fd), (flags | C.O_CLOEXEC) & ~C.O_NOFOLLOW, 0);
    return r >= 0 ? r : this.err();
  }

  /** statx of the inode `fd` holds into `buf` (fsLayout.STATX): 0, or -errno. */
  stat(fd: number, buf: Uint8Array): number {
    return this.fs.statx(fd, EMPTY_PATH, STAT_FLAGS, C.STATX_BASIC_STATS, buf) === 0 ? 0 : this.err();
  }

  /** statx of the name (one component) beneath `dirfd`, not followed, into `buf`: 0, or -errno. */
  statAt(dirfd: number, name: Uint8Array, buf: Uint8Array): number {
    const flags = C.AT_SYMLINK_NOFOLLOW | C.AT_NO_AUTOMOUNT;
    return this.fs.statx(dirfd, name, flags, C.STATX_BASIC_STATS, buf) === 0 ? 0 : this.err();
  }

  /** "N\0": fd's name in /proc/self/fd (a reused buffer). */
  procNameOf(fd: number): Uint8Array {
    const b = this.procName;
    const end = writeDecimal(b, 0, fd);
    b[end] = 0;
    return b;
  }

  /** "/proc/self/fd/N\0" (a reused buffer), for the calls that take only a path (xattrs). */
  procPath(fd: number): Uint8Array {
    const b = this.procPathBuf;
    const end = writeDecimal(b, PROC_PREFIX.length, fd);
    b[end] = 0;
    return b;
  }

  dispose(): void {
    this.fs.close(this.procFd);
  }
}

/** Writes `n` (>= 0) in decimal at b[at]; returns the index after the last digit. */
function writeDecimal(b: Uint8Array, at: number, n: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  for (let i = at + digits - 1; i >= at; i--) {
    b[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return at + digits;
}
