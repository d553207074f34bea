// What every FUSE operation works with: the request being served, the reply buffer (reused for
// every reply), the node and handle tables, host file access, the options, and the reply writers
// (fuse_out_header, fuse_entry_out, fuse_attr_out). The operations themselves are in ops-*.ts.
import fs from 'node:fs';
import { fsConst as C, fsLayout } from '@vmm/hypervisor';
import { alignedBuffer } from './aligned';
import { InodeKey, statGid, statMode, statType, writeAttr } from './attr';
import type { DirectIo } from './direct-io';
import { EMFILE, ENFILE, ENOENT, EPERM } from './errno';
import { HandleTable } from './handles';
import { EMPTY_PATH, HostFs } from './host';
import { IdMap } from './idmap';
import { ATTR_OUT, ENTRY_OUT, OUT_HEADER } from './layout';
import { NodeTable, type FsNode } from './nodes';
import type { ResolvedFsOptions } from './options';
import { FuseRequest } from './request';

const O = OUT_HEADER.fields;
const E = ENTRY_OUT.fields;
/** Entry and attribute timeouts (seconds) per cache mode. */
const TIMEOUT = { never: 0, auto: 1, always: 86400 } as const;
/** A warning of one kind is logged at most this often. */
const WARN_EVERY_MS = 10_000;
/** Directory stream buffers kept for reuse. */
const DIR_BUFFERS_KEPT = 16;
export const DIR_BUFFER_SIZE = 32 * 1024;

export interface FsStats {
  requests: number;
  /** Replies with an error. */
  errors: number;
  bytesRead: number;
  bytesWritten: number;
  /** Requests that hit a bug in the server (answered EIO): always 0 unless something is wrong. */
  internalErrors: number;
}

export class FsContext {
  readonly req = new FuseRequest();
  readonly host = new HostFs();
  readonly uids: IdMap;
  readonly gids: IdMap;
  readonly nodes: NodeTable;
  readonly handles: HandleTable;
  /** The reply buffer: fuse_out_header, then the payload. */
  readonly out: Uint8Array;
  readonly dv: DataView;
  /** out from the payload on (READ data, READLINK, xattr values go straight here). */
  readonly payload: Uint8Array;
  /** statx of the node being answered about. */
  readonly stx = new Uint8Array(fsLayout.STATX.size);
  readonly stxView = new DataView(this.stx.buffer);
  /** A second statx, for a parent directory. */
  readonly stx2 = new Uint8Array(fsLayout.STATX.size);
  readonly stx2View = new DataView(this.stx2.buffer);
  /** The inode of `stx`, as the node table keys it (one object, set again for each request). */
  private readonly key = new InodeKey();
  readonly timeout: number;
  /** Whether new files are given to the caller (chown): only a root server can. */
  readonly chownNew: boolean;
  readonly serverUid: number;
  readonly serverGid: number;
  /** The process umask, which the host applies to what the server creates (undone where it bites). */
  readonly umask: number;
  readonly stats: FsStats = { requests: 0, errors: 0, bytesRead: 0, bytesWritten: 0, internalErrors: 0 };
  private readonly dirBuffers: Uint8Array[] = [];
  private readonly warned = new Map<string, number>();

  constructor(
    readonly opts: ResolvedFsOptions,
    rootFd: number,
  ) {
    this.uids = new IdMap(opts.uidMap);
    this.gids = new IdMap(opts.gidMap);
    const close = (fd: number) => void this.host.close(fd);
    if (this.host.stat(rootFd, this.stx) !== 0) throw new Error('statx of the share root failed');
    this.nodes = new NodeTable(rootFd, this.stxKey(), statType(this.stxView), opts.maxNodes, close);
    this.handles = new HandleTable(opts.maxHandles, close);
    this.out = alignedBuffer(OUT_HEADER.size + Math.max(opts.maxWrite, 64 * 1024), OUT_HEADER.size);
    this.dv = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
    this.payload = this.out.subarray(OUT_HEADER.size);
    this.room = this.out.length;
    this.timeout = TIMEOUT[opts.cache];
    this.serverUid = process.getuid?.() ?? 0;
    this.serverGid = process.getgid?.() ?? 0;
    this.chownNew = this.serverUid === 0;
    this.umask = readUmask();
  }

  /** Reply bytes the transport can take for this request (the guest's writable buffer). */
  room = 0;
  /** The transport's own buffers for this request's READ or WRITE data, when it has them. */
  direct: DirectIo | undefined = undefined;
  /** The reply's payload went straight into the transport's buffers: only its header is in `out`. */
  placed = false;

  /** Room for a reply payload: READ, READDIR, READLINK and xattr replies are cut to it. */
  get capacity(): number {
    return Math.max(0, this.room - OUT_HEADER.size);
  }

  /** Writes fuse_out_header for a reply of `payload` bytes; returns the reply's length. */
  ok(payload: number): number {
    const len = OUT_HEADER.size + payload;
    this.dv.setUint32(O.len, len, true);
    this.dv.setInt32(O.error, 0, true);
    this.dv.setUint32(O.unique, this.req.uniqueLo, true);
    this.dv.setUint32(O.unique + 4, this.req.uniqueHi, true);
    return len;
  }

  /** An error reply (just the header): `errno` positive. */
  error(errno: number): number {
    this.stats.errors++;
    // EMFILE from the host, not from our handle table (full, it says so itself): out of fds.
    if (errno === EMFILE && this.handles.size < this.handles.max)
      this.warn(
        'nofile',
        'vmm fs: out of file descriptors (one per host file the guest holds): raise RLIMIT_NOFILE',
      );
    this.dv.setUint32(O.len, OUT_HEADER.size, true);
    this.dv.setInt32(O.error, -errno, true);
    this.dv.setUint32(O.unique, this.req.uniqueLo, true);
    this.dv.setUint32(O.unique + 4, this.req.uniqueHi, true);
    return OUT_HEADER.size;
  }

  /** The node with FUSE id `id` (an id past 2^53 arrives as -1: there is none). */
  node(id: number): FsNode | undefined {
    return id > 0 ? this.nodes.get(id) : undefined;
  }

  /** Writes a u64 (a number below 2^53) at `at` in the reply. */
  u64(at: number, v: number): void {
    this.dv.setUint32(at, v >>> 0, true);
    this.dv.setUint32(at + 4, Math.floor(v / 2 ** 32), true);
  }

  /** fuse_entry_out at `at` for `node`, whose statx is in `stx`. */
  writeEntry(at: number, node: FsNode): void {
    this.u64(at + E.nodeid, node.id);
    this.u64(at + E.generation, 0);
    this.u64(at + E.entry_valid, this.timeout);
    this.u64(at + E.attr_valid, this.timeout);
    this.dv.setUint32(at + E.entry_valid_nsec, 0, true);
    this.dv.setUint32(at + E.attr_valid_nsec, 0, true);
    writeAttr(this.dv, at + E.attr, this.stxView, this.uids, this.gids);
  }

  /** The inode `stx` holds, as the node table's key (reused: valid until the next call). */
  stxKey(): InodeKey {
    return this.key.read(this.stxView);
  }

  /** A reply of fuse_entry_out for `node` (statx in `stx`). */
  entryReply(node: FsNode): number {
    this.writeEntry(OUT_HEADER.size, node);
    return this.ok(ENTRY_OUT.size);
  }

  /** A reply of fuse_attr_out from `stx`. */
  attrReply(): number {
    const at = OUT_HEADER.size;
    this.u64(at + ATTR_OUT.fields.attr_valid, this.timeout);
    this.dv.setUint32(at + ATTR_OUT.fields.attr_valid_nsec, 0, true);
    this.dv.setUint32(at + ATTR_OUT.fields.attr_valid_nsec + 4, 0, true);
    writeAttr(this.dv, at + ATTR_OUT.fields.attr, this.stxView, this.uids, this.gids);
    return this.ok(ATTR_OUT.size);
  }

  /**
   * Looks `name` (NUL-terminated) up beneath directory fd `dirfd`: its node with one more lookup
   * counted, its statx in `stx`; or -errno.
   */
  lookup(dirfd: number, name: Uint8Array): FsNode | number {
    // Most lookups are of inodes the guest already holds (a cached name revalidated): one statx of
    // the name (one component, not followed) finds the node, with no fd opened and closed. Its
    // inode cannot have been reused for another file: the node's fd keeps it alive.
    const r0 = this.host.statAt(dirfd, name, this.stx);
    if (r0 === -ENOENT) return r0;
    if (r0 === 0) {
      const known = this.nodes.find(this.stxKey());
      if (known) {
        known.refs++;
        return known;
      }
    }
    return this.lookupNew(dirfd, name);
  }

  /** As lookup, for a name just made (MKDIR, MKNOD, SYMLINK): no node can hold it yet. */
  lookupNew(dirfd: number, name: Uint8Array): FsNode | number {
    const fd = this.host.lookup(dirfd, name);
    if (fd < 0) return fd;
    const r = this.host.stat(fd, this.stx);
    if (r < 0) {
      this.host.close(fd);
      return r;
    }
    const node = this.nodes.intern(fd, this.stxKey(), statType(this.stxView));
    if (!node) {
      this.warn(
        'nodes',
        `vmm fs: the guest holds ${this.nodes.max} host files (maxNodes): lookups fail with ENFILE`,
      );
      return -ENFILE;
    }
    return node;
  }

  /** The host uid and gid for the caller of this request, or -EPERM when either is not mapped. */
  callerIds(): number {
    const uid = this.uids.toHost(this.req.uid);
    const gid = this.gids.toHost(this.req.gid);
    return uid < 0 || gid < 0 ? -EPERM : 0;
  }

  /**
   * Gives what was just created (fd: O_PATH or open, `mode` as asked) its requested permissions,
   * which the server's umask may have cut, and to the caller when the server is root: in a setgid
   * directory the group stays the directory's. 1 when it changed the inode (its statx is stale), 0
   * when there was nothing to do, or -errno.
   */
  settleNew(fd: number, parentFd: number, mode: number, symlink: boolean): number {
    const fs = this.host.fs;
    let changed = 0;
    if (!symlink && (mode & this.umask & 0o7777) !== 0) {
      if (fs.fchmodat(this.host.procFd, this.host.procNameOf(fd), mode & 0o7777, 0) !== 0)
        return this.host.err();
      changed = 1;
    }
    if (!this.chownNew) return changed;
    const uid = this.uids.toHost(this.req.uid);
    let gid = this.gids.toHost(this.req.gid);
    if (uid === this.serverUid && gid === this.serverGid) return changed;
    if (
      gid !== this.serverGid &&
      this.host.stat(parentFd, this.stx2) === 0 &&
      statMode(this.stx2View) & C.S_ISGID
    )
      gid = statGid(this.stx2View);
    const flags = C.AT_EMPTY_PATH | C.AT_SYMLINK_NOFOLLOW;
    return fs.fchownat(fd, EMPTY_PATH, uid, gid, flags) === 0 ? 1 : this.host.err();
  }

  /** A directory stream buffer, from the pool when one is free. */
  takeDirBuffer(): Uint8Array {
    return this.dirBuffers.pop() ?? new Uint8Array(DIR_BUFFER_SIZE);
  }

  giveDirBuffer(b: Uint8Array): void {
    if (this.dirBuffers.length < DIR_BUFFERS_KEPT) this.dirBuffers.push(b);
  }

  /** One line to the log, at most once per WARN_EVERY_MS for each `kind`. */
  warn(kind: string, line: string): void {
    const now = Date.now();
    const last = this.warned.get(kind);
    if (last !== undefined && now - last < WARN_EVERY_MS) return;
    this.warned.set(kind, now);
    this.opts.log(line, kind);
  }
}

/** The process umask, from /proc/self/status (reading it with process.umask() is deprecated). */
function readUmask(): number {
  try {
    const m = /^Umask:\s+([0-7]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return parseInt(m[1]!, 8);
  } catch {
    // no /proc: assume the usual
  }
  return 0o022;
}
