// FUSE operations on directories (fuse.h): OPENDIR, READDIR, READDIRPLUS (RELEASEDIR and FSYNCDIR
// are ops-file.ts's release and fsync). A directory handle reads the host directory with
// getdents64 into its own buffer and hands entries out in order; an entry's `off` is the host's
// cookie for the position after it (linux_dirent64.d_off), so a READDIR at any offset the guest was
// given resumes there (lseek), and one at the handle's position needs no system call to find it.
import { fsConst as C, fsLayout } from '@vmm/hypervisor';
import type { FsContext } from './context';
import { EBADF, ENOTDIR, ESTALE } from './errno';
import type { FsHandle } from './handles';
import { tooManyOpen, writeOpenOut } from './ops-file';
import * as L from './layout';

const D = fsLayout.DIRENT64.fields;
const FD = L.DIRENT.fields;
const DOT_NAME = new Uint8Array([0x2e, 0]);
const DIR_OPEN_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC;

/** OPENDIR: the directory opened anew from its node ("." beneath its O_PATH fd). */
export function opendir(ctx: FsContext): number {
  const node = ctx.node(ctx.req.nodeid);
  if (!node) return ctx.error(ESTALE);
  if (node.type !== C.S_IFDIR) return ctx.error(ENOTDIR);
  const fd = ctx.host.fs.openat(node.fd, DOT_NAME, DIR_OPEN_FLAGS, 0);
  if (fd < 0) return ctx.error(-ctx.host.err());
  const h = ctx.handles.open(fd, true, DIR_OPEN_FLAGS);
  if (!h) return tooManyOpen(ctx);
  const flags = ctx.opts.cache === 'always' ? L.FOPEN_CACHE_DIR | L.FOPEN_KEEP_CACHE : 0;
  writeOpenOut(ctx, L.OUT_HEADER.size, h.fh, flags);
  return ctx.ok(L.OPEN_OUT.size);
}

/** READDIR and READDIRPLUS: as many whole entries from `offset` on as fit in `size`. */
export function readdir(ctx: FsContext, plus: boolean): number {
  const req = ctx.req;
  const r = L.READ_IN.fields;
  const h = ctx.handles.get(req.u64(req.arg + r.fh));
  if (!h || !h.dir) return ctx.error(EBADF);
  const offLo = req.u32(req.arg + r.offset);
  const offHi = req.u32(req.arg + r.offset + 4);
  if (!h.dirBuf) {
    h.dirBuf = ctx.takeDirBuffer();
    h.dirView = new DataView(h.dirBuf.buffer, h.dirBuf.byteOffset, h.dirBuf.byteLength);
  }
  if (offLo !== h.cookieLo || offHi !== h.cookieHi || (offLo === 0 && offHi === 0)) {
    const to = offHi === 0 ? offLo : (BigInt(offHi) << 32n) | BigInt(offLo);
    if (ctx.host.fs.lseek(h.fd, to, C.SEEK_SET) === -1) return ctx.error(-ctx.host.err());
    h.dirLen = h.dirPos = 0;
    h.cookieLo = offLo;
    h.cookieHi = offHi;
  }
  const end = L.OUT_HEADER.size + Math.min(req.u32(req.arg + r.size), ctx.capacity);
  let at: number = L.OUT_HEADER.size;
  for (;;) {
    if (h.dirPos >= h.dirLen) {
      const n = ctx.host.fs.getdents64(h.fd, h.dirBuf, h.dirBuf.length);
      if (n < 0) {
        if (at === L.OUT_HEADER.size) return ctx.error(-ctx.host.err());
        break;
      }
      if (n === 0) break;
      h.dirLen = n;
      h.dirPos = 0;
    }
    const next = entry(ctx, h, at, end, plus);
    if (next < 0) break;
    at = next;
  }
  return ctx.ok(at - L.OUT_HEADER.size);
}

/**
 * Writes the handle's next host entry at `at` as fuse_dirent (or fuse_direntplus, with a lookup)
 * and moves past it; returns where the next entry goes, or -1 when this one does not fit before `end`.
 */
function entry(ctx: FsContext, h: FsHandle, at: number, end: number, plus: boolean): number {
  const buf = h.dirBuf!;
  const src = h.dirView!;
  const pos = h.dirPos;
  const reclen = src.getUint16(pos + D.d_reclen, true);
  if (reclen <= D.d_name || pos + reclen > h.dirLen) {
    h.dirPos = h.dirLen; // not a record getdents64 makes: drop the rest of this read
    return -1;
  }
  const nameAt = pos + D.d_name;
  let nul = buf.indexOf(0, nameAt);
  if (nul < 0 || nul > pos + reclen) nul = pos + reclen; // a record always holds its NUL; be safe
  const namelen = nul - nameAt;
  const head = plus ? L.DIRENTPLUS.size : L.DIRENT.size;
  const size = L.direntAlign(head + namelen);
  if (at + size > end) return -1;
  const out = ctx.out;
  const dv = ctx.dv;
  if (plus) {
    const dot = buf[nameAt] === 0x2e && (namelen === 1 || (namelen === 2 && buf[nameAt + 1] === 0x2e));
    const node = dot ? -1 : ctx.lookup(h.fd, buf.subarray(nameAt, nul + 1));
    // "." and "..", and a name gone since getdents64: node id 0, which the kernel takes as
    // "no attributes for this one" (it neither caches it nor counts a lookup).
    if (typeof node === 'number') out.fill(0, at, at + L.ENTRY_OUT.size);
    else ctx.writeEntry(at, node);
    at += L.DIRENTPLUS.fields.dirent;
  }
  dv.setUint32(at + FD.ino, src.getUint32(pos + D.d_ino, true), true);
  dv.setUint32(at + FD.ino + 4, src.getUint32(pos + D.d_ino + 4, true), true);
  const cookieLo = src.getUint32(pos + D.d_off, true);
  const cookieHi = src.getUint32(pos + D.d_off + 4, true);
  dv.setUint32(at + FD.off, cookieLo, true);
  dv.setUint32(at + FD.off + 4, cookieHi, true);
  dv.setUint32(at + FD.namelen, namelen, true);
  dv.setUint32(at + FD.type, buf[pos + D.d_type]!, true);
  const name = at + FD.name;
  for (let i = 0; i < namelen; i++) out[name + i] = buf[nameAt + i]!;
  const recEnd = at + L.direntAlign(L.DIRENT.size + namelen);
  out.fill(0, name + namelen, recEnd);
  h.dirPos = pos + reclen;
  h.cookieLo = cookieLo;
  h.cookieHi = cookieHi;
  return recEnd;
}
