// Fuzz target: the FUSE server (fuse.h 7.33) over a temporary share (test/fuse/fuzz-share.ts), fed
// a stream of requests as /dev/fuse or a virtio-fs queue would carry them. The input is split by each fuse_in_header's len
// (a len that does not fit ends the stream with what is left, as one malformed request); at most
// 32 requests. Each input gets a fresh server (so node ids and file handles are 2, 3, ... and 1, 2,
// ... as in the seeds) that has seen INIT, over a share holding files, a directory, a FIFO and
// symlinks leading outside (absolute and relative); a sibling directory "outside" holds a secret.
// Small bounds (64 nodes, 16 handles, 64 KiB payloads, 1 MiB files) keep a run light on the host.
// Contract: nothing throws; no request makes the server hit a bug (stats.internalErrors); every
// reply is well formed (fuse_out_header.len is its length, unique is the request's, error is 0 or
// -1..-4095 and an error has no payload; none for FORGET/BATCH_FORGET); every fd the server holds
// is inside the share; nothing outside the share changes (names, sizes, modes, link counts,
// mtimes, contents: checked after every input).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { populateShare } from '../../test/fuse/fuzz-share';
import { call, req } from '../../test/fuse/requests';
import * as L from './layout';
import { FuseServer } from './server';

const MAX_REQUESTS = 32;
const tmp = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const base = fs.mkdtempSync(path.join(tmp, 'vmm-fs-fuzz-'));
const share = path.join(base, 'share');
const outside = path.join(base, 'outside');

/** Where the target works: the unit test checks the host file system there afterwards. */
export const paths = { base, share, outside };

/** The share as every input starts with it. */
function populate(): void {
  populateShare(share, outside);
}

/** Back to `populate()`'s share (what an input changed is undone). Names are bytes (the guest may
 *  make any), so paths are Buffers; modes the guest set are opened up first. */
function reset(): void {
  const remove = (p: Buffer) => {
    const st = fs.lstatSync(p);
    if (!st.isDirectory()) return fs.unlinkSync(p);
    fs.chmodSync(p, 0o700);
    for (const e of fs.readdirSync(p, { encoding: 'buffer' }))
      remove(Buffer.concat([p, Buffer.from('/'), e]));
    fs.rmdirSync(p);
  };
  remove(Buffer.from(share));
  populate();
}

populate();

/** What the outside tree is: checked unchanged after every input. */
function outsideState(): string {
  const lines: string[] = [];
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    lines.push(`${p} ${st.mode} ${st.size} ${st.nlink} ${st.mtimeMs} ${st.ctimeMs} ${st.ino}`);
    if (st.isDirectory()) for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e));
    else if (st.isFile()) lines.push(fs.readFileSync(p, 'utf8'));
  };
  walk(outside);
  return lines.join('\n');
}
const outsideBefore = outsideState();

/** Opcodes that change the share when they succeed. */
const CHANGES = new Set([
  L.FUSE_SETATTR,
  L.FUSE_SYMLINK,
  L.FUSE_MKNOD,
  L.FUSE_MKDIR,
  L.FUSE_UNLINK,
  L.FUSE_RMDIR,
  L.FUSE_RENAME,
  L.FUSE_LINK,
  L.FUSE_OPEN,
  L.FUSE_WRITE,
  L.FUSE_SETXATTR,
  L.FUSE_REMOVEXATTR,
  L.FUSE_CREATE,
  L.FUSE_FALLOCATE,
  L.FUSE_RENAME2,
]);

function fail(why: string): never {
  throw new Error(`contract: ${why}`);
}

let server: FuseServer | undefined;

export function fuzz(data: Uint8Array): void {
  server?.close();
  const s = new FuseServer({
    root: share,
    maxNodes: 64,
    maxHandles: 16,
    maxWrite: 64 * 1024,
    maxFileSize: 1 << 20,
    log: () => {},
  });
  server = s;
  call(s, req.init());
  let changed = false;
  let at = 0;
  for (let n = 0; n < MAX_REQUESTS && at < data.length; n++) {
    const rest = data.length - at;
    const len = rest >= 4 ? new DataView(data.buffer, data.byteOffset + at, 4).getUint32(0, true) : 0;
    const take = len >= L.IN_HEADER.size && len <= rest ? len : rest;
    const request = data.subarray(at, at + take);
    at += take;
    const replyLen = s.handle(request);
    const opcode =
      take >= 8 ? new DataView(request.buffer, request.byteOffset + 4, 4).getUint32(0, true) : -1;
    checkReply(s, request, replyLen, take === len);
    if (
      CHANGES.has(opcode) &&
      replyLen >= 16 &&
      new DataView(s.reply.buffer, s.reply.byteOffset).getInt32(4, true) === 0
    )
      changed = true;
  }
  if (s.stats.internalErrors !== 0) fail('a request made the server hit a bug (internalErrors)');
  for (const fd of s.heldFds()) {
    const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    if (!target.startsWith(share)) fail(`the server holds fd ${fd} on ${target}, outside the share`);
  }
  s.close();
  server = undefined;
  if (outsideState() !== outsideBefore) fail('something outside the share changed');
  if (changed) reset();
}

function checkReply(s: FuseServer, request: Uint8Array, n: number, whole: boolean): void {
  const rq = new DataView(request.buffer, request.byteOffset, request.length);
  const opcode = request.length >= 8 ? rq.getUint32(4, true) : -1;
  const forget = whole && (opcode === L.FUSE_FORGET || opcode === L.FUSE_BATCH_FORGET);
  if (n === 0) {
    if (!forget) fail(`no reply to opcode ${opcode}`);
    return;
  }
  if (forget) fail('a reply to FORGET');
  if (n < L.OUT_HEADER.size || n > s.reply.length) fail(`reply of ${n} bytes`);
  const v = new DataView(s.reply.buffer, s.reply.byteOffset, n);
  if (v.getUint32(0, true) !== n) fail('out header len is not the reply length');
  const error = v.getInt32(4, true);
  if (error > 0 || error < -4095) fail(`error ${error}`);
  if (error !== 0 && n !== L.OUT_HEADER.size) fail('an error reply with a payload');
  if (
    request.length >= 16 &&
    (v.getUint32(8, true) !== rq.getUint32(8, true) || v.getUint32(12, true) !== rq.getUint32(12, true))
  )
    fail('unique differs');
}

export function close(): void {
  server?.close();
  server = undefined;
  fs.rmSync(base, { recursive: true, force: true });
}

export const maxLength = 8192;

const enc = new TextEncoder();
const cat = (...rs: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(rs.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const r of rs) {
    out.set(r, at);
    at += r.length;
  }
  return out;
};

/**
 * Request streams made by the builders, with the ids a fresh server gives: the root is node 1,
 * the first node looked up or made is 2, the first handle 1. (The corpus holds streams the
 * kernel itself sent through /dev/fuse: seed-kernel-*.)
 */
export function seeds(): Uint8Array[] {
  const O_RDWR = 2;
  const O_CREAT = 0o100;
  return [
    // Look a file up, read it, stat it, let go.
    cat(
      req.lookup(1, 'a'),
      req.open(2, 0),
      req.read(2, 1, 0, 4096),
      req.getattr(2),
      req.flush(2, 1),
      req.release(2, 1),
      req.forget(2, 1),
    ),
    // Create, write, truncate, allocate, punch, seek, sync.
    cat(
      req.create(1, 'n', O_CREAT | O_RDWR, 0o600),
      req.write(2, 1, 0, enc.encode('hello, share')),
      req.setattr(2, { size: 5, mode: 0o644, mtime: 1 }),
      req.fallocate(2, 1, 0, 65536, 1),
      req.fallocate(2, 1, 0, 4096, 3),
      req.lseek(2, 1, 0, 3),
      req.fsync(2, 1, true),
      req.release(2, 1),
    ),
    // Names: mkdir, symlink, readlink, link, rename2, unlink, rmdir.
    cat(
      req.mkdir(1, 'dir', 0o755),
      req.symlink(2, 'l', '/etc/passwd'),
      req.readlink(3),
      req.lookup(1, 'a'),
      req.link(4, 2, 'h'),
      req.rename2(2, 'h', 1, 'b', 2),
      req.rename(2, 'l', 1, 'moved'),
      req.unlink(2, 'h'),
      req.unlink(1, 'moved'),
      req.rmdir(1, 'dir'),
    ),
    // Directories: opendir, readdirplus, readdir from an offset, releasedir, batch forget.
    cat(
      req.opendir(1),
      req.readdir(1, 1, 0, 4096, true),
      req.readdir(1, 1, 0, 80),
      req.release(1, 1, true),
      req.batchForget([
        [2, 1],
        [3, 1],
        [4, 1],
      ]),
      req.statfs(1),
    ),
    // Extended attributes.
    cat(
      req.lookup(1, 'b'),
      req.setxattr(2, 'user.k', enc.encode('value')),
      req.getxattr(2, 'user.k', 0),
      req.getxattr(2, 'user.k', 64),
      req.listxattr(2, 64),
      req.removexattr(2, 'user.k'),
    ),
    // Escape attempts: "..", symlinks as directories, writes through them, a FIFO, a device.
    cat(
      req.lookup(1, '..'),
      req.lookup(1, 'abs'),
      req.lookup(2, 'secret'),
      req.open(2, O_RDWR),
      req.create(1, 'abs', O_CREAT | O_RDWR),
      req.lookup(1, 'rel'),
      req.mkdir(3, 'x'),
      req.mknod(1, 'p', 0o010644),
      req.mknod(1, 'sda', 0o060666, 8 << 8),
      req.rename(1, 'd', 3, 'd'),
    ),
    req.destroy(),
  ];
}
