// koffi bindings to the C library's file calls relative to a directory fd (openat2, statx,
// mkdirat, renameat2, ...) and the few others a file server needs (pread, preadv, getdents64, xattrs,
// mount, splice). Node's fs resolves every path from the root or cwd, which a confined file server must
// never do; these take a directory fd and a name. Bound on first use, once per thread.
//
// Conventions: every path or name is a NUL-terminated byte string in a Uint8Array (file names are
// bytes, not UTF-8; `cString` makes one), buffers are passed without a copy, each call returns the
// raw C result and a failed call's errno is `fsErrno()`, read right after it.
import koffi from 'koffi';
import { SYS_OPEN_TREE, SYS_OPENAT2 } from './fs-constants';

export type Bytes = Uint8Array;
/** A 64-bit C argument: a number up to 2^53, or a bigint. */
export type Int64 = number | bigint;

export interface FsAt {
  /** openat(dirfd, path, flags, mode): an fd, or -1. */
  openat(dirfd: number, path: Bytes, flags: number, mode: number): number;
  /** openat2(dirfd, path, how, sizeof how) through syscall(2): an fd, or -1 (ENOSYS before Linux 5.6). */
  openat2(dirfd: number, path: Bytes, how: Bytes, size: number): number;
  /** open_tree(dirfd, path, flags) through syscall(2) (never with OPEN_TREE_CLONE here): an O_PATH
   *  fd of what path names, or -1 (ENOSYS before Linux 5.2; EPERM under some container filters). */
  openTree(dirfd: number, path: Bytes, flags: number): number;
  close(fd: number): number;
  read(fd: number, buf: Bytes, count: number): number;
  write(fd: number, buf: Bytes, count: number): number;
  statx(dirfd: number, path: Bytes, flags: number, mask: number, buf: Bytes): number;
  mkdirat(dirfd: number, path: Bytes, mode: number): number;
  mknodat(dirfd: number, path: Bytes, mode: number, dev: Int64): number;
  symlinkat(target: Bytes, dirfd: number, path: Bytes): number;
  readlinkat(dirfd: number, path: Bytes, buf: Bytes, size: number): number;
  unlinkat(dirfd: number, path: Bytes, flags: number): number;
  renameat2(olddirfd: number, oldpath: Bytes, newdirfd: number, newpath: Bytes, flags: number): number;
  linkat(olddirfd: number, oldpath: Bytes, newdirfd: number, newpath: Bytes, flags: number): number;
  fchmodat(dirfd: number, path: Bytes, mode: number, flags: number): number;
  fchmod(fd: number, mode: number): number;
  fchownat(dirfd: number, path: Bytes, uid: number, gid: number, flags: number): number;
  fchown(fd: number, uid: number, gid: number): number;
  /** utimensat(dirfd, path, times, flags): times is two struct timespec (fs-layout.ts TIMESPEC). */
  utimensat(dirfd: number, path: Bytes, times: Bytes, flags: number): number;
  ftruncate(fd: number, length: Int64): number;
  pread(fd: number, buf: Bytes, count: number, offset: Int64): number;
  pwrite(fd: number, buf: Bytes, count: number, offset: Int64): number;
  /** preadv(fd, iov, iovcnt, offset): `iov` holds iovcnt struct iovec (fs-layout.ts IOVEC), at most
   *  IOV_MAX; the buffers they point at must stay mapped until the call returns. */
  preadv(fd: number, iov: Bytes, iovcnt: number, offset: Int64): number;
  /** pwritev(fd, iov, iovcnt, offset): as preadv. */
  pwritev(fd: number, iov: Bytes, iovcnt: number, offset: Int64): number;
  /** Where `buf`'s first byte is in this process (an iovec's iov_base): memory that never moves
   *  (an mmap'ed region, a large ArrayBuffer) and outlives every call given the address. */
  addressOf(buf: Bytes): bigint;
  fsync(fd: number): number;
  fdatasync(fd: number): number;
  fallocate(fd: number, mode: number, offset: Int64, length: Int64): number;
  /** lseek(fd, offset, whence): the new offset (a number, or a bigint past 2^53), or -1. */
  lseek(fd: number, offset: Int64, whence: number): number | bigint;
  getdents64(fd: number, buf: Bytes, size: number): number;
  fstatvfs(fd: number, buf: Bytes): number;
  getxattr(path: Bytes, name: Bytes, value: Bytes | null, size: number): number;
  setxattr(path: Bytes, name: Bytes, value: Bytes, size: number, flags: number): number;
  listxattr(path: Bytes, list: Bytes | null, size: number): number;
  removexattr(path: Bytes, name: Bytes): number;
  mount(source: Bytes, target: Bytes, fstype: Bytes, flags: number, data: Bytes | null): number;
  umount2(target: Bytes, flags: number): number;
  /** fcntl(fd, cmd, struct flock *): the lock commands (F_OFD_SETLK, F_OFD_GETLK). */
  fcntlLock(fd: number, cmd: number, flock: Bytes): number;
  /** fcntl(fd, cmd, int): the commands that take an int (F_GETFL, F_SETFL). */
  fcntlInt(fd: number, cmd: number, arg: number): number;
  /** poll(fds, nfds, timeout): `fds` holds nfds struct pollfd (fs-layout.ts POLLFD); revents written. */
  poll(fds: Bytes, nfds: number, timeoutMs: number): number;
  /** splice(fd_in, off_in, fd_out, off_out, len, flags): an offset is a loff_t (8 bytes, read and
   *  advanced by the kernel), or null for a pipe's end (or to use the fd's own position). */
  splice(
    fdIn: number,
    offIn: Bytes | null,
    fdOut: number,
    offOut: Bytes | null,
    len: number,
    flags: number,
  ): number;
}

let cached: FsAt | undefined;

/** The bindings, made on first call (per thread: each worker loads its own). */
export function fsAt(): FsAt {
  if (cached) return cached;
  const lib = koffi.load('libc.so.6');
  const f = <T>(decl: string): T => lib.func(decl) as unknown as T;
  const syscall4 = f<(nr: number, a: number, b: Bytes, c: Bytes, d: number) => number>(
    'long syscall(long nr, long a, const void *b, void *c, unsigned long d)',
  );
  const syscall3 = f<(nr: number, a: number, b: Bytes, c: number) => number>(
    'long syscall(long nr, long a, const void *b, unsigned long c)',
  );
  cached = {
    openat: f('int openat(int dirfd, const void *path, int flags, unsigned int mode)'),
    openat2: (dirfd, path, how, size) => syscall4(SYS_OPENAT2, dirfd, path, how, size),
    openTree: (dirfd, path, flags) => syscall3(SYS_OPEN_TREE, dirfd, path, flags),
    close: f('int close(int fd)'),
    read: f('long read(int fd, void *buf, size_t count)'),
    write: f('long write(int fd, const void *buf, size_t count)'),
    statx: f('int statx(int dirfd, const void *path, int flags, unsigned int mask, void *buf)'),
    mkdirat: f('int mkdirat(int dirfd, const void *path, unsigned int mode)'),
    mknodat: f('int mknodat(int dirfd, const void *path, unsigned int mode, uint64_t dev)'),
    symlinkat: f('int symlinkat(const void *target, int dirfd, const void *path)'),
    readlinkat: f('long readlinkat(int dirfd, const void *path, void *buf, size_t size)'),
    unlinkat: f('int unlinkat(int dirfd, const void *path, int flags)'),
    renameat2: f(
      'int renameat2(int olddirfd, const void *oldpath, int newdirfd, const void *newpath, unsigned int flags)',
    ),
    linkat: f('int linkat(int olddirfd, const void *oldpath, int newdirfd, const void *newpath, int flags)'),
    fchmodat: f('int fchmodat(int dirfd, const void *path, unsigned int mode, int flags)'),
    fchmod: f('int fchmod(int fd, unsigned int mode)'),
    fchownat: f('int fchownat(int dirfd, const void *path, unsigned int uid, unsigned int gid, int flags)'),
    fchown: f('int fchown(int fd, unsigned int uid, unsigned int gid)'),
    utimensat: f('int utimensat(int dirfd, const void *path, const void *times, int flags)'),
    ftruncate: f('int ftruncate(int fd, int64_t length)'),
    pread: f('long pread(int fd, void *buf, size_t count, int64_t offset)'),
    pwrite: f('long pwrite(int fd, const void *buf, size_t count, int64_t offset)'),
    preadv: f('long preadv(int fd, const void *iov, int iovcnt, int64_t offset)'),
    pwritev: f('long pwritev(int fd, const void *iov, int iovcnt, int64_t offset)'),
    addressOf: (buf) => koffi.address(buf) as bigint,
    fsync: f('int fsync(int fd)'),
    fdatasync: f('int fdatasync(int fd)'),
    fallocate: f('int fallocate(int fd, int mode, int64_t offset, int64_t length)'),
    lseek: f('int64_t lseek(int fd, int64_t offset, int whence)'),
    getdents64: f('long getdents64(int fd, void *buf, size_t size)'),
    fstatvfs: f('int fstatvfs(int fd, void *buf)'),
    getxattr: f('long getxattr(const void *path, const void *name, void *value, size_t size)'),
    setxattr: f(
      'int setxattr(const void *path, const void *name, const void *value, size_t size, int flags)',
    ),
    listxattr: f('long listxattr(const void *path, void *list, size_t size)'),
    removexattr: f('int removexattr(const void *path, const void *name)'),
    mount: f(
      'int mount(const void *source, const void *target, const void *fstype, unsigned long flags, const void *data)',
    ),
    umount2: f('int umount2(const void *target, int flags)'),
    // Variadic in C; a pointer third argument goes in the same register either way (as ioctl).
    fcntlLock: f('int fcntl(int fd, int cmd, void *flock)'),
    fcntlInt: f('int fcntl(int fd, int cmd, int arg)'),
    poll: f('int poll(void *fds, unsigned long nfds, int timeout)'),
    splice: f(
      'long splice(int fd_in, void *off_in, int fd_out, void *off_out, size_t len, unsigned int flags)',
    ),
  };
  return cached;
}

/** errno of the last koffi call on this thread. */
export function fsErrno(): number {
  return koffi.errno();
}

const encoder = new TextEncoder();

/** `s` as a NUL-terminated UTF-8 byte string. */
export function cString(s: string): Uint8Array {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
