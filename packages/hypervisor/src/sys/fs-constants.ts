// Linux numbers for the *at() file calls (fs-at.ts): the asm-generic values, the same on x86_64 and
// aarch64 (include/uapi/asm-generic/fcntl.h, include/uapi/linux/fcntl.h, linux/openat2.h,
// linux/stat.h, linux/fs.h, linux/mount.h). Checked against the C headers by gcc (fs-layout.test.ts).

export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_ACCMODE = 0o3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const O_DIRECT = 0o40000;
/** The kernel's flag (a 64-bit guest kernel sets it in every FUSE open; glibc's O_LARGEFILE is 0). */
export const O_LARGEFILE = 0o100000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const O_SYNC = 0o4010000;
export const O_PATH = 0o10000000;
export const O_TMPFILE = 0o20200000;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_SYMLINK_FOLLOW = 0x400;
export const AT_NO_AUTOMOUNT = 0x800;
export const AT_EMPTY_PATH = 0x1000;

/** openat2(2) `resolve` flags (linux/openat2.h). */
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

/** statx(2) mask: type, mode, nlink, uid, gid, atime, mtime, ctime, ino, size, blocks. */
export const STATX_BASIC_STATS = 0x7ff;
export const STATX_SIZE = 0x200;

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o60000;
export const S_IFDIR = 0o40000;
export const S_IFCHR = 0o20000;
export const S_IFIFO = 0o10000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_IXGRP = 0o10;

/** utimensat(2) tv_nsec values. */
export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;

/** renameat2(2) flags (linux/fs.h). */
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const RENAME_WHITEOUT = 4;

export const SEEK_SET = 0;
/** poll(2): struct pollfd's events and revents bit for "readable". */
export const POLLIN = 0x001;
/** fcntl(2)'s file status flags commands. */
export const F_GETFL = 3;
export const F_SETFL = 4;
/** fcntl(2): a pipe's capacity in bytes (rounded up to pages; root may pass pipe-max-size). */
export const F_SETPIPE_SZ = 1031;
export const F_GETPIPE_SZ = 1032;
/** splice(2): do not block on the pipe. */
export const SPLICE_F_NONBLOCK = 2;
/** fcntl(2) open file description locks (whole-file advisory locks a process can hold per open). */
export const F_OFD_GETLK = 36;
export const F_OFD_SETLK = 37;
/** struct flock's l_type. */
export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

/** fallocate(2) modes (linux/falloc.h). */
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;
export const FALLOC_FL_ZERO_RANGE = 0x10;

/** mount(2) flags and umount2(2) flags (linux/mount.h). */
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MNT_DETACH = 2;

/** setxattr(2) flags (linux/xattr.h). */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

/** openat2 has no glibc wrapper before 2.38 (Debian 12 has 2.36): called through syscall(2).
 *  437 on x86_64 and aarch64 alike (new system calls share one number since 5.1). */
export const SYS_OPENAT2 = 437;
/** open_tree(2) (Linux 5.2), called through syscall(2) as glibc wraps it only since 2.36. 428 on
 *  x86_64 and aarch64 alike. */
export const SYS_OPEN_TREE = 428;
/** open_tree's flag for a close-on-exec fd (linux/mount.h): O_CLOEXEC's value. */
export const OPEN_TREE_CLOEXEC = O_CLOEXEC;
/** The most struct iovec one preadv/pwritev takes (<limits.h>; the kernel's UIO_MAXIOV). */
export const IOV_MAX = 1024;
