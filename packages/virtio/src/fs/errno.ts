// The errno values the FUSE server replies with (negated in fuse_out_header.error). FUSE carries
// Linux's numbers (include/uapi/asm-generic/errno-base.h, errno.h); the server runs on Linux, so a
// failed host call's errno passes through unchanged.
export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const EACCES = 13;
export const EEXIST = 17;
export const EXDEV = 18;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const EFBIG = 27;
export const EROFS = 30;
export const ERANGE = 34;
export const ENAMETOOLONG = 36;
export const ENOSYS = 38;
export const ENOTEMPTY = 39;
export const ELOOP = 40;
export const ENODATA = 61;
export const EPROTO = 71;
export const EOPNOTSUPP = 95;
export const ESTALE = 116;

/** The largest errno Linux defines (MAX_ERRNO): a reply's error is -1 .. -4095. */
export const MAX_ERRNO = 4095;
