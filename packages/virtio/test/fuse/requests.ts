// Tests only: FUSE requests built as the kernel lays them out (include/uapi/linux/fuse.h, 7.33),
// and a client that sends them to a FuseServer and reads the replies. Used by the unit tests, the
// fuzz target's seeds and the request corpus.
import * as L from '../../src/fs/layout';
import type { FuseServer } from '../../src/fs/server';

const enc = new TextEncoder();

/** A name or string as the kernel sends it: its bytes and a NUL. */
export function z(s: string | Uint8Array): Uint8Array {
  const b = typeof s === 'string' ? enc.encode(s) : s;
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** A struct of `size` bytes with little-endian fields [offset, width 4|8|2, value]. */
export function struct(size: number, fields: [number, 2 | 4 | 8, number | bigint][]): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  for (const [off, w, val] of fields) {
    if (w === 8) v.setBigUint64(off, BigInt.asUintN(64, BigInt(val)), true);
    else if (w === 4) v.setUint32(off, Number(val) >>> 0, true);
    else v.setUint16(off, Number(val) & 0xffff, true);
  }
  return b;
}

export interface Caller {
  uid?: number;
  gid?: number;
  pid?: number;
}

let nextUnique = 2n;

/** fuse_in_header + arguments. */
export function request(
  opcode: number,
  nodeid: number | bigint,
  args: Uint8Array[] = [],
  who: Caller = {},
): Uint8Array {
  const len = L.IN_HEADER.size + args.reduce((n, a) => n + a.length, 0);
  const h = L.IN_HEADER.fields;
  const out = new Uint8Array(len);
  out.set(
    struct(L.IN_HEADER.size, [
      [h.len, 4, len],
      [h.opcode, 4, opcode],
      [h.unique, 8, nextUnique],
      [h.nodeid, 8, BigInt(nodeid)],
      [h.uid, 4, who.uid ?? 0],
      [h.gid, 4, who.gid ?? 0],
      [h.pid, 4, who.pid ?? 1],
    ]),
  );
  nextUnique += 2n;
  let at = L.IN_HEADER.size;
  for (const a of args) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

type Id = number | bigint;

/** One builder per opcode the server serves. */
export const req = {
  init: (minor = 31, flags = 0x3fff_ffff, major = 7) =>
    request(L.FUSE_INIT, 0, [
      struct(64, [
        [L.INIT_IN.fields.major, 4, major],
        [L.INIT_IN.fields.minor, 4, minor],
        [L.INIT_IN.fields.max_readahead, 4, 131072],
        [L.INIT_IN.fields.flags, 4, flags],
      ]),
    ]),
  destroy: () => request(L.FUSE_DESTROY, 0),
  lookup: (parent: Id, name: string | Uint8Array, who?: Caller) =>
    request(L.FUSE_LOOKUP, parent, [z(name)], who),
  forget: (node: Id, n: number) => request(L.FUSE_FORGET, node, [struct(8, [[0, 8, n]])]),
  batchForget: (pairs: [Id, number][]) =>
    request(L.FUSE_BATCH_FORGET, 0, [
      struct(8, [[0, 4, pairs.length]]),
      ...pairs.map(([id, n]) =>
        struct(16, [
          [0, 8, BigInt(id)],
          [8, 8, n],
        ]),
      ),
    ]),
  getattr: (node: Id) => request(L.FUSE_GETATTR, node, [struct(16, [])]),
  setattr: (
    node: Id,
    a: {
      mode?: number;
      uid?: number;
      gid?: number;
      size?: number | bigint;
      mtime?: number;
      fh?: number;
      atimeNow?: boolean;
      /** FATTR_KILL_SUIDGID: a caller without CAP_FSETID (with size, uid or gid). */
      killSuidgid?: boolean;
    },
    who?: Caller,
  ) => {
    const f = L.SETATTR_IN.fields;
    let valid = 0;
    const fields: [number, 2 | 4 | 8, number | bigint][] = [];
    const set = (bit: number, at: number, width: 4 | 8, v: number | bigint | undefined) => {
      if (v === undefined) return;
      valid |= bit;
      fields.push([at, width, v]);
    };
    set(L.FATTR_MODE, f.mode, 4, a.mode);
    set(L.FATTR_UID, f.uid, 4, a.uid);
    set(L.FATTR_GID, f.gid, 4, a.gid);
    set(L.FATTR_SIZE, f.size, 8, a.size);
    set(L.FATTR_MTIME, f.mtime, 8, a.mtime);
    set(L.FATTR_FH, f.fh, 8, a.fh);
    if (a.atimeNow) valid |= L.FATTR_ATIME_NOW;
    if (a.killSuidgid) valid |= L.FATTR_KILL_SUIDGID;
    fields.push([f.valid, 4, valid]);
    return request(L.FUSE_SETATTR, node, [struct(L.SETATTR_IN.size, fields)], who);
  },
  readlink: (node: Id) => request(L.FUSE_READLINK, node),
  symlink: (parent: Id, name: string, target: string | Uint8Array, who?: Caller) =>
    request(L.FUSE_SYMLINK, parent, [z(name), z(target)], who),
  mknod: (parent: Id, name: string, mode: number, rdev = 0, who?: Caller) =>
    request(
      L.FUSE_MKNOD,
      parent,
      [
        struct(16, [
          [0, 4, mode],
          [4, 4, rdev],
          [8, 4, 0o022],
        ]),
        z(name),
      ],
      who,
    ),
  mkdir: (parent: Id, name: string, mode = 0o755, who?: Caller) =>
    request(
      L.FUSE_MKDIR,
      parent,
      [
        struct(8, [
          [0, 4, mode],
          [4, 4, 0o022],
        ]),
        z(name),
      ],
      who,
    ),
  unlink: (parent: Id, name: string) => request(L.FUSE_UNLINK, parent, [z(name)]),
  rmdir: (parent: Id, name: string) => request(L.FUSE_RMDIR, parent, [z(name)]),
  rename: (parent: Id, name: string, newdir: Id, newname: string) =>
    request(L.FUSE_RENAME, parent, [struct(8, [[0, 8, BigInt(newdir)]]), z(name), z(newname)]),
  rename2: (parent: Id, name: string, newdir: Id, newname: string, flags: number) =>
    request(L.FUSE_RENAME2, parent, [
      struct(16, [
        [0, 8, BigInt(newdir)],
        [8, 4, flags],
      ]),
      z(name),
      z(newname),
    ]),
  link: (old: Id, newparent: Id, name: string) =>
    request(L.FUSE_LINK, newparent, [struct(8, [[0, 8, BigInt(old)]]), z(name)]),
  open: (node: Id, flags: number, openFlags = 0) =>
    request(L.FUSE_OPEN, node, [
      struct(8, [
        [0, 4, flags],
        [4, 4, openFlags],
      ]),
    ]),
  opendir: (node: Id) => request(L.FUSE_OPENDIR, node, [struct(8, [[0, 4, 0o200000]])]),
  create: (parent: Id, name: string, flags: number, mode = 0o644, who?: Caller, openFlags = 0) =>
    request(
      L.FUSE_CREATE,
      parent,
      [
        struct(16, [
          [0, 4, flags],
          [4, 4, mode],
          [8, 4, 0o022],
          [12, 4, openFlags],
        ]),
        z(name),
      ],
      who,
    ),
  read: (node: Id, fh: number, offset: number | bigint, size: number) =>
    request(L.FUSE_READ, node, [
      struct(40, [
        [0, 8, fh],
        [8, 8, offset],
        [16, 4, size],
      ]),
    ]),
  readdir: (node: Id, fh: number, offset: number | bigint, size = 4096, plus = false) =>
    request(plus ? L.FUSE_READDIRPLUS : L.FUSE_READDIR, node, [
      struct(40, [
        [0, 8, fh],
        [8, 8, offset],
        [16, 4, size],
      ]),
    ]),
  write: (node: Id, fh: number, offset: number | bigint, data: Uint8Array, writeFlags = 0) =>
    request(L.FUSE_WRITE, node, [
      struct(40, [
        [0, 8, fh],
        [8, 8, offset],
        [16, 4, data.length],
        [20, 4, writeFlags],
      ]),
      data,
    ]),
  release: (node: Id, fh: number, dir = false) =>
    request(dir ? L.FUSE_RELEASEDIR : L.FUSE_RELEASE, node, [struct(24, [[0, 8, fh]])]),
  flush: (node: Id, fh: number) => request(L.FUSE_FLUSH, node, [struct(24, [[0, 8, fh]])]),
  fsync: (node: Id, fh: number, datasync = false) =>
    request(L.FUSE_FSYNC, node, [
      struct(16, [
        [0, 8, fh],
        [8, 4, datasync ? 1 : 0],
      ]),
    ]),
  fallocate: (node: Id, fh: number, offset: number, length: number, mode = 0) =>
    request(L.FUSE_FALLOCATE, node, [
      struct(32, [
        [0, 8, fh],
        [8, 8, offset],
        [16, 8, length],
        [24, 4, mode],
      ]),
    ]),
  lseek: (node: Id, fh: number, offset: number, whence: number) =>
    request(L.FUSE_LSEEK, node, [
      struct(24, [
        [0, 8, fh],
        [8, 8, offset],
        [16, 4, whence],
      ]),
    ]),
  statfs: (node: Id) => request(L.FUSE_STATFS, node),
  setxattr: (node: Id, name: string, value: Uint8Array, flags = 0) =>
    request(L.FUSE_SETXATTR, node, [
      struct(8, [
        [0, 4, value.length],
        [4, 4, flags],
      ]),
      z(name),
      value,
    ]),
  getxattr: (node: Id, name: string, size: number) =>
    request(L.FUSE_GETXATTR, node, [struct(8, [[0, 4, size]]), z(name)]),
  listxattr: (node: Id, size: number) => request(L.FUSE_LISTXATTR, node, [struct(8, [[0, 4, size]])]),
  removexattr: (node: Id, name: string) => request(L.FUSE_REMOVEXATTR, node, [z(name)]),
};

export interface Reply {
  /** The whole reply (a copy), or null when there was none. */
  bytes: Uint8Array | null;
  /** errno (positive), 0 on success. */
  errno: number;
  /** The payload after fuse_out_header. */
  body: Uint8Array;
  view: DataView;
}

/** Sends one request; checks the reply header is well formed. */
export function call(server: FuseServer, bytes: Uint8Array): Reply {
  const n = server.handle(bytes);
  if (n === 0)
    return { bytes: null, errno: 0, body: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)) };
  const out = server.reply.slice(0, n);
  const v = new DataView(out.buffer);
  const o = L.OUT_HEADER.fields;
  if (v.getUint32(o.len, true) !== n) throw new Error(`reply len ${v.getUint32(o.len, true)} != ${n}`);
  if (
    bytes.length >= 16 &&
    v.getBigUint64(o.unique, true) !== new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(8, true)
  )
    throw new Error('reply unique differs from the request');
  const error = v.getInt32(o.error, true);
  if (error > 0 || error < -4095) throw new Error(`reply error ${error}`);
  if (error !== 0 && n !== L.OUT_HEADER.size) throw new Error('an error reply with a payload');
  const body = out.subarray(L.OUT_HEADER.size);
  return {
    bytes: out,
    errno: error === 0 ? 0 : -error,
    body,
    view: new DataView(out.buffer, L.OUT_HEADER.size),
  };
}

/** The node id of an entry reply (fuse_entry_out), and its attributes. */
export function entryOf(r: Reply): {
  nodeid: number;
  mode: number;
  size: number;
  uid: number;
  gid: number;
  nlink: number;
  ino: bigint;
} {
  if (r.errno) throw new Error(`entry reply with errno ${r.errno}`);
  const a = L.ENTRY_OUT.fields.attr;
  const A = L.ATTR.fields;
  return {
    nodeid: Number(r.view.getBigUint64(L.ENTRY_OUT.fields.nodeid, true)),
    mode: r.view.getUint32(a + A.mode, true),
    size: Number(r.view.getBigUint64(a + A.size, true)),
    uid: r.view.getUint32(a + A.uid, true),
    gid: r.view.getUint32(a + A.gid, true),
    nlink: r.view.getUint32(a + A.nlink, true),
    ino: r.view.getBigUint64(a + A.ino, true),
  };
}

/** fuse_attr_out's attributes. */
export function attrOf(r: Reply): { mode: number; size: number; uid: number; gid: number; mtime: number } {
  if (r.errno) throw new Error(`attr reply with errno ${r.errno}`);
  const a = L.ATTR_OUT.fields.attr;
  const A = L.ATTR.fields;
  return {
    mode: r.view.getUint32(a + A.mode, true),
    size: Number(r.view.getBigUint64(a + A.size, true)),
    uid: r.view.getUint32(a + A.uid, true),
    gid: r.view.getUint32(a + A.gid, true),
    mtime: Number(r.view.getBigInt64(a + A.mtime, true)),
  };
}

/** The fh of an OPEN/OPENDIR reply, or of CREATE's fuse_open_out after its fuse_entry_out. */
export function fhOf(r: Reply, afterEntry = false): number {
  if (r.errno) throw new Error(`open reply with errno ${r.errno}`);
  return Number(r.view.getBigUint64(afterEntry ? L.ENTRY_OUT.size : 0, true));
}

/** The entries of a READDIR / READDIRPLUS reply. */
export function direntsOf(
  r: Reply,
  plus = false,
): { name: string; off: bigint; type: number; nodeid: number }[] {
  if (r.errno) throw new Error(`readdir reply with errno ${r.errno}`);
  const out: { name: string; off: bigint; type: number; nodeid: number }[] = [];
  const D = L.DIRENT.fields;
  let at = 0;
  while (at < r.body.length) {
    const nodeid = plus ? Number(r.view.getBigUint64(at, true)) : 0;
    const d = at + (plus ? L.DIRENTPLUS.fields.dirent : 0);
    const namelen = r.view.getUint32(d + D.namelen, true);
    out.push({
      name: new TextDecoder().decode(r.body.subarray(d + D.name, d + D.name + namelen)),
      off: r.view.getBigUint64(d + D.off, true),
      type: r.view.getUint32(d + D.type, true),
      nodeid,
    });
    at = d + L.direntAlign(L.DIRENT.size + namelen);
  }
  return out;
}
