// A host inode's statx (fsLayout.STATX) as the guest sees it: struct fuse_attr (fuse.h), with uid and
// gid mapped, and the key that identifies the inode in the node table (device and inode number).
import { fsLayout } from '@vmm/hypervisor';
import type { IdMap } from './idmap';
import { ATTR } from './layout';

const S = fsLayout.STATX.fields;
const T = fsLayout.STATX_TIMESTAMP.fields;
const A = ATTR.fields;

/** Copies the 8 bytes of a u64 (or i64) from one view to another, without a bigint. */
function copy64(from: DataView, fo: number, to: DataView, too: number): void {
  to.setUint32(too, from.getUint32(fo, true), true);
  to.setUint32(too + 4, from.getUint32(fo + 4, true), true);
}

/** The mode's file type bits (S_IFMT) from a statx. */
export function statType(stx: DataView): number {
  return stx.getUint16(S.stx_mode, true) & 0o170000;
}

/** The statx's st_mode. */
export function statMode(stx: DataView): number {
  return stx.getUint16(S.stx_mode, true);
}

export function statUid(stx: DataView): number {
  return stx.getUint32(S.stx_uid, true);
}

export function statGid(stx: DataView): number {
  return stx.getUint32(S.stx_gid, true);
}

/**
 * One host inode, across the file systems a share may span: device and inode number. The node
 * table's key, numbers rather than a string, so that finding a node makes nothing per request.
 */
export class InodeKey {
  devMajor = 0;
  devMinor = 0;
  inoHi = 0;
  inoLo = 0;

  /**
   * The table's hash: the inode number where it is below 2^53. Above, the high half's top 11 bits
   * are folded into the low half, so that neighbouring inode numbers (which rounding to a double
   * would give one hash, up to 2048 of them) keep theirs apart; `equals` tells apart the rest.
   */
  get hash(): number {
    return (this.inoHi & 0x1f_ffff) * 0x1_0000_0000 + ((this.inoLo ^ (this.inoHi >>> 21)) >>> 0);
  }

  equals(o: InodeKey): boolean {
    return (
      this.inoLo === o.inoLo &&
      this.inoHi === o.inoHi &&
      this.devMinor === o.devMinor &&
      this.devMajor === o.devMajor
    );
  }

  /** This key set to the inode of a statx. */
  read(stx: DataView): this {
    this.devMajor = stx.getUint32(S.stx_dev_major, true);
    this.devMinor = stx.getUint32(S.stx_dev_minor, true);
    this.inoHi = stx.getUint32(S.stx_ino + 4, true);
    this.inoLo = stx.getUint32(S.stx_ino, true);
    return this;
  }

  copy(): InodeKey {
    const k = new InodeKey();
    k.devMajor = this.devMajor;
    k.devMinor = this.devMinor;
    k.inoHi = this.inoHi;
    k.inoLo = this.inoLo;
    return k;
  }
}

/** new_encode_dev (include/linux/kdev_t.h): how fuse_attr.rdev carries a device number. */
export function encodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** Writes struct fuse_attr at `at` in `out` from the statx in `stx`. */
export function writeAttr(out: DataView, at: number, stx: DataView, uids: IdMap, gids: IdMap): void {
  copy64(stx, S.stx_ino, out, at + A.ino);
  copy64(stx, S.stx_size, out, at + A.size);
  copy64(stx, S.stx_blocks, out, at + A.blocks);
  copy64(stx, S.stx_atime + T.tv_sec, out, at + A.atime);
  copy64(stx, S.stx_mtime + T.tv_sec, out, at + A.mtime);
  copy64(stx, S.stx_ctime + T.tv_sec, out, at + A.ctime);
  out.setUint32(at + A.atimensec, stx.getUint32(S.stx_atime + T.tv_nsec, true), true);
  out.setUint32(at + A.mtimensec, stx.getUint32(S.stx_mtime + T.tv_nsec, true), true);
  out.setUint32(at + A.ctimensec, stx.getUint32(S.stx_ctime + T.tv_nsec, true), true);
  out.setUint32(at + A.mode, stx.getUint16(S.stx_mode, true), true);
  out.setUint32(at + A.nlink, stx.getUint32(S.stx_nlink, true), true);
  out.setUint32(at + A.uid, uids.toGuest(stx.getUint32(S.stx_uid, true)), true);
  out.setUint32(at + A.gid, gids.toGuest(stx.getUint32(S.stx_gid, true)), true);
  out.setUint32(
    at + A.rdev,
    encodeDev(stx.getUint32(S.stx_rdev_major, true), stx.getUint32(S.stx_rdev_minor, true)),
    true,
  );
  out.setUint32(at + A.blksize, stx.getUint32(S.stx_blksize, true), true);
  out.setUint32(at + A.flags, 0, true);
}
