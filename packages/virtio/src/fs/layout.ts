// The FUSE protocol's binary layouts and numbers, declared once: include/uapi/linux/fuse.h, protocol
// 7.33 (7.31 is what virtio-fs needs; 7.33 adds FUSE_HANDLE_KILLPRIV_V2; virtio 1.2 §5.11 carries
// these same messages on its queues). Every struct is little-endian, padded to 8 bytes. Checked
// against the kernel's header by gcc in layout.test.ts (the header there may be newer: `cSize`
// gives the 7.33 size where a struct grew).

/** A fuse.h struct: its size in protocol 7.33 and the byte offset of each member we use. */
export interface FuseLayout {
  cName: string;
  size: number;
  /** The C expression for `size` when it is not sizeof (the struct grew after 7.33, or grows only
   *  with a flag we never agree to). */
  cSize?: string;
  fields: Record<string, number>;
}

export const FUSE_KERNEL_VERSION = 7;
/** The minor version we speak: 7.33 (7.31: map_alignment, virtio-fs; 7.32: fuse_attr.flags;
 *  7.33: the KILL_SUIDGID flags of FUSE_HANDLE_KILLPRIV_V2). */
export const FUSE_KERNEL_MINOR_VERSION = 33;
/** The oldest minor version we accept: 7.23 has every struct at the size we use (no compat sizes). */
export const FUSE_MIN_MINOR_VERSION = 23;
export const FUSE_ROOT_ID = 1;
/** The /dev/fuse read buffer must be at least this large. */
export const FUSE_MIN_READ_BUFFER = 8192;

export const IN_HEADER = {
  cName: 'struct fuse_in_header',
  size: 40,
  fields: { len: 0, opcode: 4, unique: 8, nodeid: 16, uid: 24, gid: 28, pid: 32 },
} as const satisfies FuseLayout;

export const OUT_HEADER = {
  cName: 'struct fuse_out_header',
  size: 16,
  fields: { len: 0, error: 4, unique: 8 },
} as const satisfies FuseLayout;

export const ATTR = {
  cName: 'struct fuse_attr',
  size: 88,
  fields: {
    ino: 0,
    size: 8,
    blocks: 16,
    atime: 24,
    mtime: 32,
    ctime: 40,
    atimensec: 48,
    mtimensec: 52,
    ctimensec: 56,
    mode: 60,
    nlink: 64,
    uid: 68,
    gid: 72,
    rdev: 76,
    blksize: 80,
    flags: 84,
  },
} as const satisfies FuseLayout;

export const ENTRY_OUT = {
  cName: 'struct fuse_entry_out',
  size: 128,
  fields: {
    nodeid: 0,
    generation: 8,
    entry_valid: 16,
    attr_valid: 24,
    entry_valid_nsec: 32,
    attr_valid_nsec: 36,
    attr: 40,
  },
} as const satisfies FuseLayout;

export const ATTR_OUT = {
  cName: 'struct fuse_attr_out',
  size: 104,
  fields: { attr_valid: 0, attr_valid_nsec: 8, attr: 16 },
} as const satisfies FuseLayout;

export const FORGET_IN = { cName: 'struct fuse_forget_in', size: 8, fields: { nlookup: 0 } } as const;
export const FORGET_ONE = {
  cName: 'struct fuse_forget_one',
  size: 16,
  fields: { nodeid: 0, nlookup: 8 },
} as const satisfies FuseLayout;
export const BATCH_FORGET_IN = {
  cName: 'struct fuse_batch_forget_in',
  size: 8,
  fields: { count: 0 },
} as const satisfies FuseLayout;

export const GETATTR_IN = {
  cName: 'struct fuse_getattr_in',
  size: 16,
  fields: { getattr_flags: 0, fh: 8 },
} as const satisfies FuseLayout;

export const SETATTR_IN = {
  cName: 'struct fuse_setattr_in',
  size: 88,
  fields: {
    valid: 0,
    fh: 8,
    size: 16,
    lock_owner: 24,
    atime: 32,
    mtime: 40,
    ctime: 48,
    atimensec: 56,
    mtimensec: 60,
    ctimensec: 64,
    mode: 68,
    uid: 76,
    gid: 80,
  },
} as const satisfies FuseLayout;

export const MKNOD_IN = {
  cName: 'struct fuse_mknod_in',
  size: 16,
  fields: { mode: 0, rdev: 4, umask: 8 },
} as const satisfies FuseLayout;
export const MKDIR_IN = {
  cName: 'struct fuse_mkdir_in',
  size: 8,
  fields: { mode: 0, umask: 4 },
} as const satisfies FuseLayout;
export const RENAME_IN = { cName: 'struct fuse_rename_in', size: 8, fields: { newdir: 0 } } as const;
export const RENAME2_IN = {
  cName: 'struct fuse_rename2_in',
  size: 16,
  fields: { newdir: 0, flags: 8 },
} as const satisfies FuseLayout;
export const LINK_IN = { cName: 'struct fuse_link_in', size: 8, fields: { oldnodeid: 0 } } as const;

export const OPEN_IN = {
  cName: 'struct fuse_open_in',
  size: 8,
  fields: { flags: 0, open_flags: 4 },
} as const satisfies FuseLayout;
export const CREATE_IN = {
  cName: 'struct fuse_create_in',
  size: 16,
  fields: { flags: 0, mode: 4, umask: 8, open_flags: 12 },
} as const satisfies FuseLayout;
export const OPEN_OUT = {
  cName: 'struct fuse_open_out',
  size: 16,
  fields: { fh: 0, open_flags: 8 },
} as const satisfies FuseLayout;
export const RELEASE_IN = {
  cName: 'struct fuse_release_in',
  size: 24,
  fields: { fh: 0, flags: 8, release_flags: 12, lock_owner: 16 },
} as const satisfies FuseLayout;
export const FLUSH_IN = {
  cName: 'struct fuse_flush_in',
  size: 24,
  fields: { fh: 0, lock_owner: 16 },
} as const satisfies FuseLayout;

export const READ_IN = {
  cName: 'struct fuse_read_in',
  size: 40,
  fields: { fh: 0, offset: 8, size: 16, read_flags: 20, lock_owner: 24, flags: 32 },
} as const satisfies FuseLayout;
export const WRITE_IN = {
  cName: 'struct fuse_write_in',
  size: 40,
  fields: { fh: 0, offset: 8, size: 16, write_flags: 20, lock_owner: 24, flags: 32 },
} as const satisfies FuseLayout;
/** A WRITE request before its data: fuse_in_header and fuse_write_in. */
export const WRITE_HEAD = IN_HEADER.size + WRITE_IN.size;
export const WRITE_OUT = { cName: 'struct fuse_write_out', size: 8, fields: { size: 0 } } as const;

export const KSTATFS = {
  cName: 'struct fuse_kstatfs',
  size: 80,
  fields: { blocks: 0, bfree: 8, bavail: 16, files: 24, ffree: 32, bsize: 40, namelen: 44, frsize: 48 },
} as const satisfies FuseLayout;
export const STATFS_OUT = { cName: 'struct fuse_statfs_out', size: 80, fields: { st: 0 } } as const;

export const FSYNC_IN = {
  cName: 'struct fuse_fsync_in',
  size: 16,
  fields: { fh: 0, fsync_flags: 8 },
} as const satisfies FuseLayout;

/** 8 bytes unless FUSE_SETXATTR_EXT (7.33) is negotiated, which we never do. */
export const SETXATTR_IN = {
  cName: 'struct fuse_setxattr_in',
  size: 8,
  cSize: 'FUSE_COMPAT_SETXATTR_IN_SIZE',
  fields: { size: 0, flags: 4 },
} as const satisfies FuseLayout;
export const GETXATTR_IN = { cName: 'struct fuse_getxattr_in', size: 8, fields: { size: 0 } } as const;
export const GETXATTR_OUT = { cName: 'struct fuse_getxattr_out', size: 8, fields: { size: 0 } } as const;

/** 16 bytes in 7.31; 7.36 added flags2 and 44 unused bytes, sent only with FUSE_INIT_EXT. */
export const INIT_IN = {
  cName: 'struct fuse_init_in',
  size: 16,
  cSize: 'offsetof(struct fuse_init_in, flags2)',
  fields: { major: 0, minor: 4, max_readahead: 8, flags: 12 },
} as const satisfies FuseLayout;
export const INIT_OUT = {
  cName: 'struct fuse_init_out',
  size: 64,
  fields: {
    major: 0,
    minor: 4,
    max_readahead: 8,
    flags: 12,
    max_background: 16,
    congestion_threshold: 18,
    max_write: 20,
    time_gran: 24,
    max_pages: 28,
    map_alignment: 30,
  },
} as const satisfies FuseLayout;

export const INTERRUPT_IN = { cName: 'struct fuse_interrupt_in', size: 8, fields: { unique: 0 } } as const;

export const FALLOCATE_IN = {
  cName: 'struct fuse_fallocate_in',
  size: 32,
  fields: { fh: 0, offset: 8, length: 16, mode: 24 },
} as const satisfies FuseLayout;

export const LSEEK_IN = {
  cName: 'struct fuse_lseek_in',
  size: 24,
  fields: { fh: 0, offset: 8, whence: 16 },
} as const satisfies FuseLayout;
export const LSEEK_OUT = { cName: 'struct fuse_lseek_out', size: 8, fields: { offset: 0 } } as const;

/** A directory entry; the name follows at `name`, the record is padded to 8 bytes (FUSE_DIRENT_ALIGN). */
export const DIRENT = {
  cName: 'struct fuse_dirent',
  size: 24,
  fields: { ino: 0, off: 8, namelen: 16, type: 20, name: 24 },
} as const satisfies FuseLayout;
/** READDIRPLUS's entry: a fuse_entry_out, then a fuse_dirent (name at 152). */
export const DIRENTPLUS = {
  cName: 'struct fuse_direntplus',
  size: 152,
  fields: { entry_out: 0, dirent: 128 },
} as const satisfies FuseLayout;

export const ALL_LAYOUTS: readonly FuseLayout[] = [
  IN_HEADER,
  OUT_HEADER,
  ATTR,
  ENTRY_OUT,
  ATTR_OUT,
  FORGET_IN,
  FORGET_ONE,
  BATCH_FORGET_IN,
  GETATTR_IN,
  SETATTR_IN,
  MKNOD_IN,
  MKDIR_IN,
  RENAME_IN,
  RENAME2_IN,
  LINK_IN,
  OPEN_IN,
  CREATE_IN,
  OPEN_OUT,
  RELEASE_IN,
  FLUSH_IN,
  READ_IN,
  WRITE_IN,
  WRITE_OUT,
  KSTATFS,
  STATFS_OUT,
  FSYNC_IN,
  SETXATTR_IN,
  GETXATTR_IN,
  GETXATTR_OUT,
  INIT_IN,
  INIT_OUT,
  INTERRUPT_IN,
  FALLOCATE_IN,
  LSEEK_IN,
  LSEEK_OUT,
  DIRENT,
  DIRENTPLUS,
];

/** enum fuse_opcode. */
export const FUSE_LOOKUP = 1;
export const FUSE_FORGET = 2;
export const FUSE_GETATTR = 3;
export const FUSE_SETATTR = 4;
export const FUSE_READLINK = 5;
export const FUSE_SYMLINK = 6;
export const FUSE_MKNOD = 8;
export const FUSE_MKDIR = 9;
export const FUSE_UNLINK = 10;
export const FUSE_RMDIR = 11;
export const FUSE_RENAME = 12;
export const FUSE_LINK = 13;
export const FUSE_OPEN = 14;
export const FUSE_READ = 15;
export const FUSE_WRITE = 16;
export const FUSE_STATFS = 17;
export const FUSE_RELEASE = 18;
export const FUSE_FSYNC = 20;
export const FUSE_SETXATTR = 21;
export const FUSE_GETXATTR = 22;
export const FUSE_LISTXATTR = 23;
export const FUSE_REMOVEXATTR = 24;
export const FUSE_FLUSH = 25;
export const FUSE_INIT = 26;
export const FUSE_OPENDIR = 27;
export const FUSE_READDIR = 28;
export const FUSE_RELEASEDIR = 29;
export const FUSE_FSYNCDIR = 30;
export const FUSE_GETLK = 31;
export const FUSE_SETLK = 32;
export const FUSE_SETLKW = 33;
export const FUSE_ACCESS = 34;
export const FUSE_CREATE = 35;
export const FUSE_INTERRUPT = 36;
export const FUSE_BMAP = 37;
export const FUSE_DESTROY = 38;
export const FUSE_IOCTL = 39;
export const FUSE_POLL = 40;
export const FUSE_BATCH_FORGET = 42;
export const FUSE_FALLOCATE = 43;
export const FUSE_READDIRPLUS = 44;
export const FUSE_RENAME2 = 45;
export const FUSE_LSEEK = 46;
export const FUSE_COPY_FILE_RANGE = 47;
export const FUSE_SETUPMAPPING = 48;
export const FUSE_REMOVEMAPPING = 49;

/** INIT flags (fuse_init_in.flags / fuse_init_out.flags). */
export const FUSE_ASYNC_READ = 1 << 0;
export const FUSE_POSIX_LOCKS = 1 << 1;
export const FUSE_ATOMIC_O_TRUNC = 1 << 3;
export const FUSE_EXPORT_SUPPORT = 1 << 4;
export const FUSE_BIG_WRITES = 1 << 5;
export const FUSE_DONT_MASK = 1 << 6;
export const FUSE_AUTO_INVAL_DATA = 1 << 12;
export const FUSE_DO_READDIRPLUS = 1 << 13;
export const FUSE_READDIRPLUS_AUTO = 1 << 14;
export const FUSE_ASYNC_DIO = 1 << 15;
export const FUSE_WRITEBACK_CACHE = 1 << 16;
export const FUSE_PARALLEL_DIROPS = 1 << 18;
export const FUSE_HANDLE_KILLPRIV = 1 << 19;
export const FUSE_MAX_PAGES = 1 << 22;
export const FUSE_CACHE_SYMLINKS = 1 << 23;
/** 7.33: the server drops setuid/setgid on write, truncate and chown when the request says so
 *  (the *_KILL_SUIDGID flags below) and security.capability on every write; the kernel then stops
 *  asking GETXATTR security.capability before each write(2) (SB_NOSEC). */
export const FUSE_HANDLE_KILLPRIV_V2 = 1 << 28;

/** fuse_write_in.write_flags (7.33's name for 7.31's FUSE_WRITE_KILL_PRIV). */
export const FUSE_WRITE_KILL_SUIDGID = 1 << 2;
/** fuse_open_in.open_flags and fuse_create_in.open_flags (7.33): drop setuid/setgid on O_TRUNC. */
export const FUSE_OPEN_KILL_SUIDGID = 1 << 0;

/** fuse_open_out.open_flags. */
export const FOPEN_DIRECT_IO = 1 << 0;
export const FOPEN_KEEP_CACHE = 1 << 1;
export const FOPEN_CACHE_DIR = 1 << 3;
/** 7.35, but an open flag the kernel honours whatever the minor: no FLUSH on close (the server
 *  keeps no per-open state that a close must flush, and takes no locks). */
export const FOPEN_NOFLUSH = 1 << 5;

/** fuse_setattr_in.valid. */
export const FATTR_MODE = 1 << 0;
export const FATTR_UID = 1 << 1;
export const FATTR_GID = 1 << 2;
export const FATTR_SIZE = 1 << 3;
export const FATTR_ATIME = 1 << 4;
export const FATTR_MTIME = 1 << 5;
export const FATTR_FH = 1 << 6;
export const FATTR_ATIME_NOW = 1 << 7;
export const FATTR_MTIME_NOW = 1 << 8;
export const FATTR_CTIME = 1 << 10;
/** 7.33: with FATTR_SIZE, FATTR_UID or FATTR_GID: drop setuid/setgid as the VFS would. */
export const FATTR_KILL_SUIDGID = 1 << 11;

export const FUSE_GETATTR_FH = 1 << 0;
export const FUSE_FSYNC_FDATASYNC = 1 << 0;

/** Padding of variable-length records (FUSE_DIRENT_ALIGN). */
export function direntAlign(n: number): number {
  return (n + 7) & ~7;
}
