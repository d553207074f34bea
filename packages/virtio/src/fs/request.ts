// One FUSE request as it arrives (fuse_in_header, then the opcode's arguments: fuse.h), read in
// place with every length checked: the header's len against the bytes there are, each opcode's fixed
// argument struct against len, every name against its NUL, NAME_MAX, '/', "." and "..". Nothing is
// copied; one FuseRequest is reused for every request.
import { EINVAL, ENAMETOOLONG, ERANGE } from './errno';
import * as L from './layout';

/** NAME_MAX: the longest file name (bytes, without the NUL). */
export const NAME_MAX = 255;
/** XATTR_NAME_MAX. */
export const XATTR_NAME_MAX = 255;
/** PATH_MAX, NUL included: the longest symlink target. */
export const PATH_MAX = 4096;

const SLASH = 0x2f;
const DOT = 0x2e;
const TWO_32 = 2 ** 32;
/** Views of the request buffer from an offset before this one (every request's first name, a
 *  WRITE's data) are kept for the buffer: tail and cstr. */
const CACHED_STARTS = 128;
/** The high half of a u64 at or above which it is no longer an exact JS number (2^53). */
const HI_LIMIT = 0x20_0000;

/** The fixed argument bytes each opcode needs before anything variable (-1: we do not serve it). */
const FIXED = new Int32Array(64).fill(-1);
for (const [op, size] of [
  [L.FUSE_LOOKUP, 0],
  [L.FUSE_FORGET, L.FORGET_IN.size],
  [L.FUSE_GETATTR, L.GETATTR_IN.size],
  [L.FUSE_SETATTR, L.SETATTR_IN.size],
  [L.FUSE_READLINK, 0],
  [L.FUSE_SYMLINK, 0],
  [L.FUSE_MKNOD, L.MKNOD_IN.size],
  [L.FUSE_MKDIR, L.MKDIR_IN.size],
  [L.FUSE_UNLINK, 0],
  [L.FUSE_RMDIR, 0],
  [L.FUSE_RENAME, L.RENAME_IN.size],
  [L.FUSE_LINK, L.LINK_IN.size],
  [L.FUSE_OPEN, L.OPEN_IN.size],
  [L.FUSE_READ, L.READ_IN.size],
  [L.FUSE_WRITE, L.WRITE_IN.size],
  [L.FUSE_STATFS, 0],
  [L.FUSE_RELEASE, L.RELEASE_IN.size],
  [L.FUSE_FSYNC, L.FSYNC_IN.size],
  [L.FUSE_SETXATTR, L.SETXATTR_IN.size],
  [L.FUSE_GETXATTR, L.GETXATTR_IN.size],
  [L.FUSE_LISTXATTR, L.GETXATTR_IN.size],
  [L.FUSE_REMOVEXATTR, 0],
  [L.FUSE_FLUSH, L.FLUSH_IN.size],
  [L.FUSE_INIT, L.INIT_IN.size],
  [L.FUSE_OPENDIR, L.OPEN_IN.size],
  [L.FUSE_READDIR, L.READ_IN.size],
  [L.FUSE_RELEASEDIR, L.RELEASE_IN.size],
  [L.FUSE_FSYNCDIR, L.FSYNC_IN.size],
  [L.FUSE_CREATE, L.CREATE_IN.size],
  [L.FUSE_INTERRUPT, L.INTERRUPT_IN.size],
  [L.FUSE_DESTROY, 0],
  [L.FUSE_BATCH_FORGET, L.BATCH_FORGET_IN.size],
  [L.FUSE_FALLOCATE, L.FALLOCATE_IN.size],
  [L.FUSE_READDIRPLUS, L.READ_IN.size],
  [L.FUSE_RENAME2, L.RENAME2_IN.size],
  [L.FUSE_LSEEK, L.LSEEK_IN.size],
] as const)
  FIXED[op] = size;

/** The fixed argument size of `opcode`, or -1 when the server does not serve it. */
export function fixedArgSize(opcode: number): number {
  return opcode >= 0 && opcode < FIXED.length ? FIXED[opcode]! : -1;
}

const H = L.IN_HEADER.fields;

export class FuseRequest {
  buf: Uint8Array = new Uint8Array(0);
  dv: DataView = new DataView(this.buf.buffer);
  /** The header's len: the request is buf[0, len). */
  len = 0;
  opcode = 0;
  /** fuse_in_header.unique as its two u32 halves: copied to the reply as they are. */
  uniqueLo = 0;
  uniqueHi = 0;
  /** fuse_in_header.nodeid, or -1 when it is past 2^53 (no node has such an id). */
  nodeid = 0;
  uid = 0;
  gid = 0;
  pid = 0;
  /** The first argument byte. */
  readonly arg = L.IN_HEADER.size;

  /**
   * Reads the header of the request in buf[0, length). Returns 0, or an errno when the request is
   * malformed (shorter than its header, len past the bytes given, arguments shorter than the
   * opcode's struct). `unique` is set whenever the bytes hold it, so the errno can be answered.
   * A known opcode's fixed arguments are then present; an unknown opcode (ENOSYS) is the caller's.
   */
  parse(buf: Uint8Array, length: number): number {
    if (buf !== this.buf) {
      this.buf = buf;
      this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.starts.length = 0;
    }
    const dv = this.dv;
    length = Math.min(length, buf.length);
    this.len = 0;
    this.opcode = 0;
    this.nodeid = -1;
    this.uniqueLo = length >= H.unique + 4 ? dv.getUint32(H.unique, true) : 0;
    this.uniqueHi = length >= H.unique + 8 ? dv.getUint32(H.unique + 4, true) : 0;
    if (length < L.IN_HEADER.size) return EINVAL;
    const len = dv.getUint32(H.len, true);
    if (len < L.IN_HEADER.size || len > length) return EINVAL;
    this.len = len;
    this.opcode = dv.getUint32(H.opcode, true);
    this.nodeid = this.u64(H.nodeid);
    this.uid = dv.getUint32(H.uid, true);
    this.gid = dv.getUint32(H.gid, true);
    this.pid = dv.getUint32(H.pid, true);
    const fixed = fixedArgSize(this.opcode);
    if (fixed > 0 && len - this.arg < fixed) return EINVAL;
    return 0;
  }

  u32(off: number): number {
    return this.dv.getUint32(off, true);
  }

  /** The u64 at `off` as a number, or -1 when it is 2^53 or more. */
  u64(off: number): number {
    const hi = this.dv.getUint32(off + 4, true);
    if (hi >= HI_LIMIT) return -1;
    return hi * TWO_32 + this.dv.getUint32(off, true);
  }

  /** Index of the first NUL in buf[off, len) at most `max` bytes after off, or -EINVAL / -ENAMETOOLONG. */
  private terminator(off: number, max: number): number {
    if (off >= this.len) return -EINVAL;
    // Look no further than len (or than max + 1 bytes): the buffer may be much larger.
    const stop = Math.min(this.len, off + max + 1);
    let nul = -1;
    for (let i = off; i < stop; i++)
      if (this.buf[i] === 0) {
        nul = i;
        break;
      }
    if (nul < 0) return stop === this.len ? -EINVAL : -ENAMETOOLONG;
    return nul;
  }

  /**
   * A file name (one path component) at `off`: the index of its NUL, or a negated errno when it is
   * not one: empty, unterminated within len, longer than NAME_MAX, holding '/', or "." / "..".
   */
  name(off: number): number {
    const nul = this.terminator(off, NAME_MAX);
    if (nul < 0) return nul;
    const n = nul - off;
    const b = this.buf;
    if (n === 0) return -EINVAL;
    if (b[off] === DOT && (n === 1 || (n === 2 && b[off + 1] === DOT))) return -EINVAL;
    for (let i = off; i < nul; i++) if (b[i] === SLASH) return -EINVAL;
    return nul;
  }

  /** An extended attribute name at `off`: the index of its NUL, or a negated errno. */
  xattrName(off: number): number {
    const nul = this.terminator(off, XATTR_NAME_MAX);
    if (nul === off) return -EINVAL;
    // getxattr(2) and setxattr(2) answer ERANGE for a name over XATTR_NAME_MAX.
    return nul === -ENAMETOOLONG ? -ERANGE : nul;
  }

  /** A symlink target at `off`: the index of its NUL, or a negated errno (empty, too long). */
  target(off: number): number {
    const nul = this.terminator(off, PATH_MAX - 1);
    if (nul === off) return -EINVAL;
    return nul;
  }

  /** Views of buf from an offset on, one per offset and buffer (see CACHED_STARTS). */
  private readonly starts: (Uint8Array | undefined)[] = [];

  /** buf from `off` on (a WRITE's data), made once per buffer where requests use `off` again. */
  tail(off: number): Uint8Array {
    if (off >= CACHED_STARTS) return this.buf.subarray(off);
    return (this.starts[off] ??= this.buf.subarray(off));
  }

  /**
   * The NUL-terminated string buf[off, end] (end is the NUL's index) as the C calls take it: a view
   * that starts at `off`, for C reads up to the NUL. Its length is not the string's. A request's
   * first name starts at one of a few offsets (after its fixed struct), so those views are made
   * once per buffer instead of once per request.
   */
  cstr(off: number, end: number): Uint8Array {
    return off < CACHED_STARTS ? this.tail(off) : this.buf.subarray(off, end + 1);
  }
}
