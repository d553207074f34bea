// FUSE extended attribute operations (fuse.h): GETXATTR, SETXATTR, LISTXATTR, REMOVEXATTR, on the
// inode a node holds, named by its /proc/self/fd link (the path-only xattr calls follow that magic
// link to the very inode; an O_PATH fd takes no f*xattr call). A size of 0 asks only how big.
import type { FsContext } from './context';
import { E2BIG, EINVAL, ERANGE, EROFS, ESTALE } from './errno';
import * as L from './layout';

/** XATTR_SIZE_MAX: the largest value Linux stores. */
export const XATTR_SIZE_MAX = 65536;

/** The size-only answer: fuse_getxattr_out. */
function sizeReply(ctx: FsContext, n: number): number {
  ctx.dv.setUint32(L.OUT_HEADER.size + L.GETXATTR_OUT.fields.size, n, true);
  ctx.dv.setUint32(L.OUT_HEADER.size + L.GETXATTR_OUT.fields.size + 4, 0, true);
  return ctx.ok(L.GETXATTR_OUT.size);
}

/** GETXATTR (list: false) and LISTXATTR (list: true). */
export function getxattr(ctx: FsContext, list: boolean): number {
  const req = ctx.req;
  const node = ctx.node(req.nodeid);
  if (!node) return ctx.error(ESTALE);
  const asked = req.u32(req.arg + L.GETXATTR_IN.fields.size);
  const size = Math.min(asked, ctx.capacity);
  // Bytes asked for and no room for any (a guest's chain without writable space beyond the
  // header): too small a buffer, not the size-only question a 0 would be.
  if (asked !== 0 && size === 0) return ctx.error(ERANGE);
  const host = ctx.host;
  const path = host.procPath(node.fd);
  let n: number;
  if (list) {
    n = host.fs.listxattr(path, size ? ctx.payload : null, size);
  } else {
    const at = req.arg + L.GETXATTR_IN.size;
    const nul = req.xattrName(at);
    if (nul < 0) return ctx.error(-nul);
    n = host.fs.getxattr(path, req.cstr(at, nul), size ? ctx.payload : null, size);
  }
  if (n < 0) return ctx.error(-host.err());
  return size === 0 ? sizeReply(ctx, n) : ctx.ok(n);
}

/** SETXATTR: fuse_setxattr_in (7.31: size, flags), the name, then `size` bytes of value. */
export function setxattr(ctx: FsContext): number {
  const req = ctx.req;
  if (ctx.opts.readonly) return ctx.error(EROFS);
  const node = ctx.node(req.nodeid);
  if (!node) return ctx.error(ESTALE);
  const f = L.SETXATTR_IN.fields;
  const size = req.u32(req.arg + f.size);
  const flags = req.u32(req.arg + f.flags);
  const at = req.arg + L.SETXATTR_IN.size;
  const nul = req.xattrName(at);
  if (nul < 0) return ctx.error(-nul);
  if (size > XATTR_SIZE_MAX) return ctx.error(E2BIG);
  if (size > req.len - (nul + 1)) return ctx.error(EINVAL);
  const host = ctx.host;
  const value = req.buf.subarray(nul + 1, nul + 1 + size);
  const r = host.fs.setxattr(host.procPath(node.fd), req.cstr(at, nul), value, size, flags);
  return r !== 0 ? ctx.error(-host.err()) : ctx.ok(0);
}

/** REMOVEXATTR. */
export function removexattr(ctx: FsContext): number {
  const req = ctx.req;
  if (ctx.opts.readonly) return ctx.error(EROFS);
  const node = ctx.node(req.nodeid);
  if (!node) return ctx.error(ESTALE);
  const nul = req.xattrName(req.arg);
  if (nul < 0) return ctx.error(-nul);
  const host = ctx.host;
  const r = host.fs.removexattr(host.procPath(node.fd), req.cstr(req.arg, nul));
  return r !== 0 ? ctx.error(-host.err()) : ctx.ok(0);
}
