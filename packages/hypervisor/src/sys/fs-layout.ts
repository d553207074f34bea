// The C structures the *at() file calls of fs-at.ts fill or read, declared once: the same on
// x86_64 and aarch64 Linux (LP64, little-endian). Checked against the C headers by gcc in
// fs-layout.test.ts.

/** A C struct: its size and the byte offset of each member we use. */
export interface CLayout {
  cName: string;
  /** The header that declares it. */
  header: string;
  size: number;
  fields: Record<string, number>;
}

/** struct statx (include/uapi/linux/stat.h), as statx(2) fills it; struct statx_timestamp is 16 bytes. */
export const STATX = {
  cName: 'struct statx',
  header: 'linux/stat.h',
  size: 256,
  fields: {
    stx_mask: 0,
    stx_blksize: 4,
    stx_attributes: 8,
    stx_nlink: 16,
    stx_uid: 20,
    stx_gid: 24,
    stx_mode: 28,
    stx_ino: 32,
    stx_size: 40,
    stx_blocks: 48,
    stx_atime: 64,
    stx_btime: 80,
    stx_ctime: 96,
    stx_mtime: 112,
    stx_rdev_major: 128,
    stx_rdev_minor: 132,
    stx_dev_major: 136,
    stx_dev_minor: 140,
  },
} as const satisfies CLayout;

/** struct statx_timestamp (include/uapi/linux/stat.h): i64 tv_sec, u32 tv_nsec. */
export const STATX_TIMESTAMP = {
  cName: 'struct statx_timestamp',
  header: 'linux/stat.h',
  size: 16,
  fields: { tv_sec: 0, tv_nsec: 8 },
} as const satisfies CLayout;

/** struct open_how (include/uapi/linux/openat2.h): u64 flags, mode, resolve. */
export const OPEN_HOW = {
  cName: 'struct open_how',
  header: 'linux/openat2.h',
  size: 24,
  fields: { flags: 0, mode: 8, resolve: 16 },
} as const satisfies CLayout;

/** struct linux_dirent64 (getdents64(2)): u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, d_name[]. */
export const DIRENT64 = {
  cName: 'struct dirent64',
  header: 'dirent.h',
  size: 280,
  fields: { d_ino: 0, d_off: 8, d_reclen: 16, d_type: 18, d_name: 19 },
} as const satisfies CLayout;

/** struct statvfs (glibc <sys/statvfs.h>, LP64): what fstatvfs(3) fills. */
export const STATVFS = {
  cName: 'struct statvfs',
  header: 'sys/statvfs.h',
  size: 112,
  fields: {
    f_bsize: 0,
    f_frsize: 8,
    f_blocks: 16,
    f_bfree: 24,
    f_bavail: 32,
    f_files: 40,
    f_ffree: 48,
    f_favail: 56,
    f_fsid: 64,
    f_flag: 72,
    f_namemax: 80,
  },
} as const satisfies CLayout;

/** struct timespec (LP64): i64 tv_sec, i64 tv_nsec; utimensat(2) takes two (atime, mtime). */
export const TIMESPEC = {
  cName: 'struct timespec',
  header: 'time.h',
  size: 16,
  fields: { tv_sec: 0, tv_nsec: 8 },
} as const satisfies CLayout;

/** struct iovec (<sys/uio.h>, LP64): void *iov_base, size_t iov_len; what preadv/pwritev take. */
export const IOVEC = {
  cName: 'struct iovec',
  header: 'sys/uio.h',
  size: 16,
  fields: { iov_base: 0, iov_len: 8 },
} as const satisfies CLayout;

/** struct flock (<fcntl.h>, LP64): i16 l_type, i16 l_whence, off_t l_start, off_t l_len, pid_t
 *  l_pid; what fcntl(2)'s F_OFD_SETLK and F_OFD_GETLK take (l_len 0: to the end of the file). */
export const FLOCK = {
  cName: 'struct flock',
  header: 'fcntl.h',
  size: 32,
  fields: { l_type: 0, l_whence: 2, l_start: 8, l_len: 16, l_pid: 24 },
} as const satisfies CLayout;

/** struct pollfd (<poll.h>): int fd, short events, short revents; what poll(2) takes, nfds of them. */
export const POLLFD = {
  cName: 'struct pollfd',
  header: 'poll.h',
  size: 8,
  fields: { fd: 0, events: 4, revents: 6 },
} as const satisfies CLayout;

export const FS_LAYOUTS: readonly CLayout[] = [
  STATX,
  STATX_TIMESTAMP,
  OPEN_HOW,
  DIRENT64,
  STATVFS,
  TIMESPEC,
  IOVEC,
  FLOCK,
  POLLFD,
];
