// The FUSE server driven by requests built as the kernel lays them out (test/fuse/requests.ts), over
// a real temporary directory: the protocol (INIT, errors, malformed requests), each operation's
// effect on the host, the tables' bounds and the options. No root, no /dev/fuse needed.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attrOf, call, direntsOf, entryOf, fhOf, req, request, struct } from '../../test/fuse/requests';
import { shareFixture } from '../../test/fuse/server-fixture';
import * as E from './errno';
import * as L from './layout';
import { FuseServer } from './server';

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_RDWR = 2;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_TRUNC = 0o1000;
const enc = new TextEncoder();
const dec = new TextDecoder();
const isRoot = process.getuid?.() === 0;

const fixture = shareFixture('fuse-server-');
const { share, serve } = fixture;

describe('INIT and the protocol', () => {
  it('agrees on 7.33 with the features it serves, max_write and max_pages (128 KiB by default)', () => {
    const s = serve({}, false);
    const r = call(s, req.init(38));
    const f = L.INIT_OUT.fields;
    expect(r.body.length).toBe(L.INIT_OUT.size);
    expect(r.view.getUint32(f.major, true)).toBe(7);
    expect(r.view.getUint32(f.minor, true)).toBe(33);
    const flags = r.view.getUint32(f.flags, true);
    expect(flags & L.FUSE_DO_READDIRPLUS).toBeTruthy();
    expect(flags & L.FUSE_WRITEBACK_CACHE).toBe(0);
    expect(flags & L.FUSE_EXPORT_SUPPORT).toBe(0);
    expect(r.view.getUint32(f.max_write, true)).toBe(128 * 1024);
    expect(r.view.getUint16(f.max_pages, true)).toBe(32);
    expect(flags & L.FUSE_HANDLE_KILLPRIV_V2).toBeTruthy();
    expect(s.minor).toBe(33);
  });

  it('only offers what the kernel offers, and never READDIRPLUS with cache=never', () => {
    const s = serve({ cache: 'never' }, false);
    const r = call(s, req.init(31, L.FUSE_ASYNC_READ | L.FUSE_DO_READDIRPLUS));
    expect(r.view.getUint32(L.INIT_OUT.fields.flags, true)).toBe(L.FUSE_ASYNC_READ);
  });

  it('answers a newer major with its own and nothing else, refuses an old one, and 7.22', () => {
    const s = serve({}, false);
    const r = call(s, req.init(0, 0, 8));
    expect(r.errno).toBe(0);
    expect(r.view.getUint32(L.INIT_OUT.fields.major, true)).toBe(7);
    expect(call(s, req.lookup(1, 'x')).errno).toBe(E.EIO); // still not initialised
    expect(call(s, req.init(31, 0, 6)).errno).toBe(E.EPROTO);
    expect(call(s, req.init(22)).errno).toBe(E.EPROTO);
    expect(call(s, req.init(23)).errno).toBe(0);
    expect(s.minor).toBe(23);
  });

  it('answers EIO before INIT and after close, ENOSYS to what it does not serve', () => {
    const s = serve({}, false);
    expect(call(s, req.getattr(1)).errno).toBe(E.EIO);
    expect(call(s, req.forget(1, 1)).bytes).toBeNull();
    call(s, req.init());
    for (const op of [
      L.FUSE_GETLK,
      L.FUSE_SETLK,
      L.FUSE_ACCESS,
      L.FUSE_IOCTL,
      L.FUSE_BMAP,
      L.FUSE_COPY_FILE_RANGE,
      4096,
      0xffff_ffff,
    ])
      expect(call(s, request(op, 1, [new Uint8Array(64)])).errno, `opcode ${op}`).toBe(E.ENOSYS);
    expect(call(s, request(L.FUSE_INTERRUPT, 0, [struct(8, [[0, 8, 12]])])).errno).toBe(E.ENOSYS);
  });

  it('DESTROY lets go of every node and handle; INIT serves again', () => {
    fs.writeFileSync(share('f'), 'x');
    const s = serve();
    const f = entryOf(call(s, req.lookup(1, 'f')));
    fhOf(call(s, req.open(f.nodeid, O_RDONLY)));
    expect(s.held).toEqual({ nodes: 2, handles: 1 });
    expect(call(s, req.destroy()).errno).toBe(0);
    expect(s.held).toEqual({ nodes: 1, handles: 0 });
    expect(call(s, req.getattr(f.nodeid)).errno).toBe(E.EIO);
    call(s, req.init());
    expect(call(s, req.getattr(f.nodeid)).errno).toBe(E.ESTALE);
    expect(call(s, req.getattr(1)).errno).toBe(0);
  });
});

describe('malformed requests get an errno, never a throw', () => {
  it('lengths: shorter than the header, len past the bytes, len under the header, short arguments', () => {
    const s = serve();
    const good = req.read(1, 1, 0, 10);
    expect(call(s, good.subarray(0, 10)).errno).toBe(E.EINVAL);
    expect(call(s, good.subarray(0, 39)).errno).toBe(E.EINVAL);
    const long = good.slice();
    new DataView(long.buffer).setUint32(0, 4096, true);
    expect(call(s, long).errno).toBe(E.EINVAL);
    const tiny = good.slice();
    new DataView(tiny.buffer).setUint32(0, 12, true);
    expect(call(s, tiny).errno).toBe(E.EINVAL);
    // Every served opcode whose arguments are cut short.
    for (const op of [
      L.FUSE_GETATTR,
      L.FUSE_SETATTR,
      L.FUSE_MKNOD,
      L.FUSE_MKDIR,
      L.FUSE_RENAME,
      L.FUSE_LINK,
      L.FUSE_OPEN,
      L.FUSE_READ,
      L.FUSE_WRITE,
      L.FUSE_RELEASE,
      L.FUSE_FSYNC,
      L.FUSE_SETXATTR,
      L.FUSE_GETXATTR,
      L.FUSE_LISTXATTR,
      L.FUSE_FLUSH,
      L.FUSE_INIT,
      L.FUSE_OPENDIR,
      L.FUSE_READDIR,
      L.FUSE_CREATE,
      L.FUSE_FALLOCATE,
      L.FUSE_READDIRPLUS,
      L.FUSE_RENAME2,
      L.FUSE_LSEEK,
    ])
      expect(call(s, request(op, 1, [new Uint8Array(7)])).errno, `opcode ${op}`).toBe(E.EINVAL);
    // FORGET and BATCH_FORGET have no reply, malformed or not.
    expect(call(s, request(L.FUSE_FORGET, 1, [new Uint8Array(3)])).bytes).toBeNull();
    expect(call(s, request(L.FUSE_BATCH_FORGET, 0, [struct(8, [[0, 4, 0xffff_ffff]])])).bytes).toBeNull();
  });

  it('names: empty, unterminated, over NAME_MAX, with "/", "." and ".."; never a node', () => {
    fs.writeFileSync(share('a'), 'a');
    const s = serve();
    const bad: [Uint8Array, number][] = [
      [request(L.FUSE_LOOKUP, 1, [new Uint8Array([0])]), E.EINVAL],
      [request(L.FUSE_LOOKUP, 1, [enc.encode('abc')]), E.EINVAL],
      [req.lookup(1, 'x'.repeat(256)), E.ENAMETOOLONG],
      [req.lookup(1, '.'), E.EINVAL],
      [req.lookup(1, '..'), E.EINVAL],
      [req.lookup(1, '../share'), E.EINVAL],
      [req.lookup(1, '/etc'), E.EINVAL],
      [req.lookup(1, 'a/'), E.EINVAL],
      [req.mkdir(1, '..'), E.EINVAL],
      [req.create(1, 'x/y', O_CREAT | O_WRONLY), E.EINVAL],
      [req.rename(1, 'a', 1, '..'), E.EINVAL],
      [req.symlink(1, 'l', ''), E.EINVAL],
      [req.symlink(1, 'l', 'x'.repeat(4096)), E.ENAMETOOLONG],
      [req.getxattr(1, '', 10), E.EINVAL],
      [req.getxattr(1, 'user.' + 'x'.repeat(300), 10), E.ERANGE],
    ];
    for (const [r, errno] of bad) expect(call(s, r).errno).toBe(errno);
    expect(call(s, req.lookup(1, 'x'.repeat(255))).errno).toBe(E.ENOENT); // a name, just not there
    expect(s.held.nodes).toBe(1);
    expect(fs.readdirSync(share())).toEqual(['a']);
  });

  it('unknown nodes, handles and offsets past 2^53', () => {
    const s = serve();
    expect(call(s, req.getattr(99)).errno).toBe(E.ESTALE);
    expect(call(s, req.getattr(0xffff_ffff_ffff_ffffn)).errno).toBe(E.ESTALE);
    expect(call(s, req.lookup(7, 'a')).errno).toBe(E.ESTALE);
    expect(call(s, req.read(1, 5, 0, 10)).errno).toBe(E.EBADF);
    expect(call(s, req.release(1, 5)).errno).toBe(E.EBADF);
    fs.writeFileSync(share('f'), 'x');
    const f = entryOf(call(s, req.lookup(1, 'f')));
    const fh = fhOf(call(s, req.open(f.nodeid, O_RDWR)));
    expect(call(s, req.read(f.nodeid, fh, 2n ** 60n, 10)).errno).toBe(E.EINVAL);
    expect(call(s, req.write(f.nodeid, fh, 2n ** 60n, enc.encode('x'))).errno).toBe(E.EINVAL);
    // A WRITE whose size says more than the request holds.
    const w = req.write(f.nodeid, fh, 0, enc.encode('abc'));
    new DataView(w.buffer).setUint32(L.IN_HEADER.size + L.WRITE_IN.fields.size, 1 << 20, true);
    expect(call(s, w).errno).toBe(E.EINVAL);
    // A directory handle is not a file handle, nor the reverse.
    const d = fhOf(call(s, req.opendir(1)));
    expect(call(s, req.read(1, d, 0, 10)).errno).toBe(E.EBADF);
    expect(call(s, req.readdir(f.nodeid, fh, 0)).errno).toBe(E.EBADF);
    expect(fs.readFileSync(share('f'), 'utf8')).toBe('x');
  });
});

describe('operations', () => {
  it('create, write, read, getattr, setattr (mode, size, mtime), flush, fsync, release', () => {
    const s = serve();
    const c = call(s, req.create(1, 'f', O_CREAT | O_RDWR, 0o640));
    const f = entryOf(c);
    const fh = fhOf(c, true);
    expect(f.mode).toBe(0o100640);
    expect(fs.statSync(share('f')).mode & 0o7777).toBe(0o640);
    const w = call(s, req.write(f.nodeid, fh, 3, enc.encode('hello')));
    expect(w.view.getUint32(0, true)).toBe(5);
    expect(fs.readFileSync(share('f'))).toEqual(Buffer.from('\0\0\0hello'));
    expect(dec.decode(call(s, req.read(f.nodeid, fh, 3, 100)).body)).toBe('hello');
    expect(call(s, req.read(f.nodeid, fh, 100, 100)).body.length).toBe(0);
    expect(attrOf(call(s, req.getattr(f.nodeid))).size).toBe(8);
    const a = attrOf(call(s, req.setattr(f.nodeid, { mode: 0o600, size: 4, mtime: 1_000_000 })));
    expect(a).toMatchObject({ mode: 0o100600, size: 4, mtime: 1_000_000 });
    expect(fs.statSync(share('f')).mtimeMs).toBe(1_000_000_000);
    expect(attrOf(call(s, req.setattr(f.nodeid, { size: 1, fh }))).size).toBe(1);
    expect(call(s, req.setattr(f.nodeid, { atimeNow: true })).errno).toBe(0);
    expect(call(s, req.flush(f.nodeid, fh)).errno).toBe(0);
    expect(call(s, req.fsync(f.nodeid, fh, true)).errno).toBe(0);
    expect(call(s, req.release(f.nodeid, fh)).errno).toBe(0);
    expect(call(s, req.read(f.nodeid, fh, 0, 1)).errno).toBe(E.EBADF);
    expect(s.held.handles).toBe(0);
    // O_EXCL on an existing name; without it, the existing file is opened.
    expect(call(s, req.create(1, 'f', O_CREAT | O_EXCL | O_WRONLY)).errno).toBe(E.EEXIST);
    const again = call(s, req.create(1, 'f', O_CREAT | O_WRONLY, 0o777));
    expect(entryOf(again).nodeid).toBe(f.nodeid);
    expect(fs.statSync(share('f')).mode & 0o7777).toBe(0o600);
  });

  it('KILLPRIV_V2: a write, truncate, chown or O_TRUNC that says KILL_SUIDGID drops setuid, and setgid with group execute', () => {
    const s = serve();
    const mode = (name: string) => fs.statSync(share(name)).mode & 0o7777;
    const file = (name: string, m: number) => {
      fs.writeFileSync(share(name), 'data');
      fs.chmodSync(share(name), m);
      return entryOf(call(s, req.lookup(1, name))).nodeid;
    };
    const x = enc.encode('x');
    // WRITE: without the flag (a caller with CAP_FSETID) the bits stay, as the VFS keeps them.
    const w = file('w', 0o6775);
    const fh = fhOf(call(s, req.open(w, O_WRONLY)));
    expect(call(s, req.write(w, fh, 0, x)).errno).toBe(0);
    expect(mode('w')).toBe(0o6775);
    expect(call(s, req.write(w, fh, 0, x, L.FUSE_WRITE_KILL_SUIDGID)).errno).toBe(0);
    expect(mode('w')).toBe(0o775);
    expect(fs.readFileSync(share('w'), 'utf8')).toBe('xata');
    // Setgid without group execute is a locking mark, not a privilege: it stays.
    const g = file('g', 0o6745);
    const gh = fhOf(call(s, req.open(g, O_RDWR)));
    expect(call(s, req.write(g, gh, 4, x, L.FUSE_WRITE_KILL_SUIDGID)).errno).toBe(0);
    expect(mode('g')).toBe(0o2745);
    // SETATTR: truncate and chown with FATTR_KILL_SUIDGID; the reply shows the new mode.
    const t = file('t', 0o4755);
    expect(attrOf(call(s, req.setattr(t, { size: 1 }))).mode).toBe(0o104755);
    expect(attrOf(call(s, req.setattr(t, { size: 0, killSuidgid: true }))).mode).toBe(0o100755);
    expect(mode('t')).toBe(0o755);
    const o = file('o', 0o6770);
    const ids = fs.statSync(share('o'));
    expect(attrOf(call(s, req.setattr(o, { gid: ids.gid, killSuidgid: true }))).mode).toBe(0o100770);
    // OPEN and CREATE of an existing file with O_TRUNC and FUSE_OPEN_KILL_SUIDGID.
    const p = file('p', 0o4700);
    const ph = fhOf(call(s, req.open(p, O_WRONLY | O_TRUNC, L.FUSE_OPEN_KILL_SUIDGID)));
    expect(mode('p')).toBe(0o700);
    expect(fs.statSync(share('p')).size).toBe(0);
    file('c', 0o6755);
    const c = call(
      s,
      req.create(1, 'c', O_CREAT | O_WRONLY | O_TRUNC, 0o644, undefined, L.FUSE_OPEN_KILL_SUIDGID),
    );
    expect(entryOf(c).mode).toBe(0o100755);
    expect(mode('c')).toBe(0o755);
    for (const h of [fh, gh, ph, fhOf(c, true)]) call(s, req.release(1, h));
    expect(s.held.handles).toBe(0);
  });

  it('a handle opened read-only does not write; OPEN refuses directories and special files', () => {
    fs.writeFileSync(share('f'), 'data');
    fs.mkdirSync(share('d'));
    const s = serve();
    expect(call(s, req.mknod(1, 'p', 0o010644)).errno).toBe(0);
    const f = entryOf(call(s, req.lookup(1, 'f')));
    const ro = fhOf(call(s, req.open(f.nodeid, O_RDONLY)));
    expect(call(s, req.write(f.nodeid, ro, 0, enc.encode('x'))).errno).toBe(E.EBADF);
    expect(call(s, req.fallocate(f.nodeid, ro, 0, 10)).errno).toBe(E.EBADF);
    expect(call(s, req.open(entryOf(call(s, req.lookup(1, 'd'))).nodeid, O_RDONLY)).errno).toBe(E.EISDIR);
    expect(call(s, req.open(entryOf(call(s, req.lookup(1, 'p'))).nodeid, O_RDONLY)).errno).toBe(E.EACCES);
    expect(call(s, req.opendir(f.nodeid)).errno).toBe(E.ENOTDIR);
  });

  it('mkdir, mknod (FIFO yes, devices no), symlink, readlink, link, unlink, rmdir', () => {
    const s = serve();
    const d = entryOf(call(s, req.mkdir(1, 'd', 0o750)));
    expect(fs.statSync(share('d')).mode & 0o7777).toBe(0o750);
    expect(entryOf(call(s, req.mknod(d.nodeid, 'fifo', 0o010600))).mode).toBe(0o010600);
    expect(call(s, req.mknod(d.nodeid, 'null', 0o020666, (1 << 8) | 3)).errno).toBe(E.EPERM);
    expect(call(s, req.mknod(d.nodeid, 'disk', 0o060666, 8 << 8)).errno).toBe(E.EPERM);
    expect(call(s, req.mknod(d.nodeid, 'dir', 0o040755)).errno).toBe(E.EINVAL);
    expect(fs.readdirSync(share('d'))).toEqual(['fifo']);
    const l = entryOf(call(s, req.symlink(d.nodeid, 'l', '/etc/passwd')));
    expect(l.mode & 0o170000).toBe(0o120000);
    expect(dec.decode(call(s, req.readlink(l.nodeid)).body)).toBe('/etc/passwd');
    expect(call(s, req.readlink(d.nodeid)).errno).toBe(E.EINVAL);
    const file = entryOf(call(s, req.create(1, 'f', O_CREAT | O_WRONLY)));
    const hard = entryOf(call(s, req.link(file.nodeid, d.nodeid, 'hard')));
    expect(hard.nodeid).toBe(file.nodeid);
    expect(hard.nlink).toBe(2);
    expect(call(s, req.link(d.nodeid, 1, 'dirlink')).errno).toBe(E.EPERM);
    expect(call(s, req.link(99, 1, 'x')).errno).toBe(E.ESTALE);
    expect(call(s, req.rmdir(1, 'd')).errno).toBe(E.ENOTEMPTY);
    for (const n of ['fifo', 'l', 'hard']) expect(call(s, req.unlink(d.nodeid, n)).errno).toBe(0);
    expect(call(s, req.rmdir(1, 'd')).errno).toBe(0);
    expect(fs.readdirSync(share())).toEqual(['f']);
  });

  it('rename and rename2 (NOREPLACE, EXCHANGE; WHITEOUT refused)', () => {
    fs.writeFileSync(share('a'), 'A');
    fs.writeFileSync(share('b'), 'B');
    fs.mkdirSync(share('d'));
    const s = serve();
    const d = entryOf(call(s, req.lookup(1, 'd')));
    expect(call(s, req.rename2(1, 'a', 1, 'b', 1)).errno).toBe(E.EEXIST);
    expect(call(s, req.rename2(1, 'a', 1, 'b', 2)).errno).toBe(0);
    expect(fs.readFileSync(share('a'), 'utf8')).toBe('B');
    expect(call(s, req.rename2(1, 'a', 1, 'b', 4)).errno).toBe(E.EINVAL);
    expect(call(s, req.rename(1, 'a', d.nodeid, 'moved')).errno).toBe(0);
    expect(fs.readFileSync(share('d/moved'), 'utf8')).toBe('B');
    expect(call(s, req.rename(1, 'b', 99, 'x')).errno).toBe(E.ESTALE);
  });

  it('statfs, fallocate (allocate, punch, zero), lseek SEEK_DATA/SEEK_HOLE', () => {
    const s = serve();
    const st = call(s, req.statfs(1));
    expect(st.view.getUint32(L.KSTATFS.fields.bsize, true)).toBeGreaterThan(0);
    expect(st.view.getUint32(L.KSTATFS.fields.namelen, true)).toBe(255);
    const c = call(s, req.create(1, 'f', O_CREAT | O_RDWR));
    const f = entryOf(c);
    const fh = fhOf(c, true);
    expect(call(s, req.fallocate(f.nodeid, fh, 0, 1 << 20)).errno).toBe(0);
    expect(fs.statSync(share('f')).size).toBe(1 << 20);
    expect(call(s, req.fallocate(f.nodeid, fh, 0, 4096, 0x40)).errno).toBe(E.EOPNOTSUPP);
    call(s, req.write(f.nodeid, fh, 512 * 1024, new Uint8Array(4096).fill(1)));
    const punch = call(s, req.fallocate(f.nodeid, fh, 0, 512 * 1024, 0x03));
    if (punch.errno === 0) {
      const data = call(s, req.lseek(f.nodeid, fh, 0, 3));
      expect(Number(data.view.getBigUint64(0, true))).toBe(512 * 1024);
      const hole = call(s, req.lseek(f.nodeid, fh, 512 * 1024, 4));
      expect(Number(hole.view.getBigUint64(0, true))).toBeGreaterThan(512 * 1024);
    } else expect(punch.errno).toBe(E.EOPNOTSUPP);
    expect(call(s, req.lseek(f.nodeid, fh, 0, 0)).errno).toBe(E.EINVAL);
  });

  it('extended attributes: set, get (and its size), list, remove, ERANGE', () => {
    fs.writeFileSync(share('f'), '');
    const s = serve();
    const f = entryOf(call(s, req.lookup(1, 'f')));
    expect(call(s, req.setxattr(f.nodeid, 'user.k', enc.encode('value'))).errno).toBe(0);
    expect(call(s, req.setxattr(f.nodeid, 'user.k', enc.encode('v'), 1)).errno).toBe(E.EEXIST);
    expect(call(s, req.getxattr(f.nodeid, 'user.k', 0)).view.getUint32(0, true)).toBe(5);
    expect(dec.decode(call(s, req.getxattr(f.nodeid, 'user.k', 64)).body)).toBe('value');
    expect(call(s, req.getxattr(f.nodeid, 'user.k', 2)).errno).toBe(E.ERANGE);
    // A transport with room for the reply header alone: bytes asked for are ERANGE (not the
    // size-only answer a size of 0 gets).
    const header = L.OUT_HEADER.size;
    for (const r of [req.getxattr(f.nodeid, 'user.k', 64), req.listxattr(f.nodeid, 64)]) {
      const n = s.handle(r, r.length, header);
      expect(n).toBe(header);
      expect(new DataView(s.reply.buffer, s.reply.byteOffset).getInt32(4, true)).toBe(-E.ERANGE);
    }
    expect(dec.decode(call(s, req.listxattr(f.nodeid, 64)).body).split('\0')).toContain('user.k');
    expect(call(s, req.removexattr(f.nodeid, 'user.k')).errno).toBe(0);
    expect(call(s, req.getxattr(f.nodeid, 'user.k', 64)).errno).toBe(E.ENODATA);
    // A value longer than the request holds, and one over XATTR_SIZE_MAX.
    const short = req.setxattr(f.nodeid, 'user.k', enc.encode('abc'));
    new DataView(short.buffer).setUint32(L.IN_HEADER.size, 100, true);
    expect(call(s, short).errno).toBe(E.EINVAL);
    const big = req.setxattr(f.nodeid, 'user.k', enc.encode('abc'));
    new DataView(big.buffer).setUint32(L.IN_HEADER.size, 65537, true);
    expect(call(s, big).errno).toBe(E.E2BIG);
  });

  it('readdir and readdirplus page through 1000 names, resume at any offset given, count lookups', () => {
    const names = Array.from({ length: 1000 }, (_, i) => `file-${i}-${'x'.repeat(i % 40)}`);
    for (const n of names) fs.writeFileSync(share(n), '');
    const s = serve();
    for (const plus of [false, true]) {
      const fh = fhOf(call(s, req.opendir(1)));
      const got: ReturnType<typeof direntsOf> = [];
      let off = 0n;
      for (let pages = 0; pages < 1000; pages++) {
        const page = direntsOf(call(s, req.readdir(1, fh, off, 4096, plus)), plus);
        if (page.length === 0) break;
        got.push(...page);
        off = page[page.length - 1]!.off;
      }
      expect(got.map((e) => e.name).sort()).toEqual(['.', '..', ...names].sort());
      expect(new Set(got.map((e) => e.name)).size).toBe(got.length);
      if (plus) {
        // "." and ".." carry no node; every other entry is a looked-up node, counted once.
        expect(
          got
            .filter((e) => e.nodeid === 0)
            .map((e) => e.name)
            .sort(),
        ).toEqual(['.', '..']);
        expect(s.held.nodes).toBe(1001);
        // Resuming at an offset given earlier gives the same entries from there.
        const mid = got[500]!;
        const again = direntsOf(call(s, req.readdir(1, fh, mid.off, 4096, true)), true);
        expect(again[0]!.name).toBe(got[501]!.name);
        call(s, req.batchForget(got.filter((e) => e.nodeid).map((e) => [e.nodeid, 1] as [number, number])));
        call(s, req.batchForget(again.map((e) => [e.nodeid, 1] as [number, number])));
        expect(s.held.nodes).toBe(1);
      }
      expect(call(s, req.release(1, fh, true)).errno).toBe(0);
    }
  });

  it('one host inode is one node; FORGET drops it at zero', () => {
    fs.writeFileSync(share('f'), '');
    fs.linkSync(share('f'), share('g'));
    const s = serve();
    const f = entryOf(call(s, req.lookup(1, 'f')));
    expect(entryOf(call(s, req.lookup(1, 'g'))).nodeid).toBe(f.nodeid);
    expect(entryOf(call(s, req.lookup(1, 'f'))).nodeid).toBe(f.nodeid);
    call(s, req.forget(f.nodeid, 2));
    expect(call(s, req.getattr(f.nodeid)).errno).toBe(0);
    call(s, req.forget(f.nodeid, 1));
    expect(call(s, req.getattr(f.nodeid)).errno).toBe(E.ESTALE);
    call(s, req.forget(1, 100)); // the root is never forgotten
    expect(call(s, req.getattr(1)).errno).toBe(0);
  });
});

describe('bounds and options', () => {
  it('maxNodes and maxHandles: ENFILE and EMFILE, then room again', () => {
    for (let i = 0; i < 5; i++) fs.writeFileSync(share(`f${i}`), '');
    const s = serve({ maxNodes: 3, maxHandles: 2, log: () => {} });
    const a = entryOf(call(s, req.lookup(1, 'f0')));
    entryOf(call(s, req.lookup(1, 'f1')));
    expect(call(s, req.lookup(1, 'f2')).errno).toBe(E.ENFILE);
    expect(call(s, req.create(1, 'new', O_CREAT | O_WRONLY)).errno).toBe(E.ENFILE);
    expect(fs.existsSync(share('new'))).toBe(true); // made, but the guest holds too much to be given it
    call(s, req.forget(a.nodeid, 1));
    expect(call(s, req.lookup(1, 'f2')).errno).toBe(0);
    const b = entryOf(call(s, req.lookup(1, 'f1')));
    fhOf(call(s, req.open(b.nodeid, O_RDONLY)));
    fhOf(call(s, req.open(b.nodeid, O_RDONLY)));
    expect(call(s, req.open(b.nodeid, O_RDONLY)).errno).toBe(E.EMFILE);
    expect(call(s, req.opendir(1)).errno).toBe(E.EMFILE);
  });

  it('maxFileSize: WRITE, FALLOCATE and SETATTR past it get EFBIG', () => {
    const s = serve({ maxFileSize: 4096 });
    const c = call(s, req.create(1, 'f', O_CREAT | O_RDWR));
    const f = entryOf(c);
    const fh = fhOf(c, true);
    expect(call(s, req.write(f.nodeid, fh, 4090, enc.encode('1234567'))).errno).toBe(E.EFBIG);
    expect(call(s, req.fallocate(f.nodeid, fh, 0, 8192)).errno).toBe(E.EFBIG);
    expect(call(s, req.setattr(f.nodeid, { size: 4097 })).errno).toBe(E.EFBIG);
    expect(call(s, req.write(f.nodeid, fh, 4089, enc.encode('1234567'))).errno).toBe(0);
    expect(fs.statSync(share('f')).size).toBe(4096);
  });

  it('readonly: every change is EROFS, reading works, the host is untouched', () => {
    fs.writeFileSync(share('f'), 'data');
    fs.mkdirSync(share('d'));
    const s = serve({ readonly: true });
    const f = entryOf(call(s, req.lookup(1, 'f')));
    const d = entryOf(call(s, req.lookup(1, 'd')));
    const fh = fhOf(call(s, req.open(f.nodeid, O_RDONLY)));
    expect(dec.decode(call(s, req.read(f.nodeid, fh, 0, 10)).body)).toBe('data');
    const changes: [string, Uint8Array][] = [
      ['open for writing', req.open(f.nodeid, O_WRONLY)],
      ['open read-write', req.open(f.nodeid, O_RDWR)],
      ['write', req.write(f.nodeid, fh, 0, enc.encode('x'))],
      ['create', req.create(1, 'n', O_CREAT | O_WRONLY)],
      ['mkdir', req.mkdir(1, 'n')],
      ['mknod', req.mknod(1, 'n', 0o100644)],
      ['symlink', req.symlink(1, 'n', 'f')],
      ['link', req.link(f.nodeid, 1, 'n')],
      ['unlink', req.unlink(1, 'f')],
      ['rmdir', req.rmdir(1, 'd')],
      ['rename', req.rename(1, 'f', d.nodeid, 'f')],
      ['rename2', req.rename2(1, 'f', 1, 'd', 2)],
      ['chmod', req.setattr(f.nodeid, { mode: 0o777 })],
      ['truncate', req.setattr(f.nodeid, { size: 0 })],
      ['utimes', req.setattr(f.nodeid, { mtime: 1 })],
      ['chown', req.setattr(f.nodeid, { uid: 1 })],
      ['fallocate', req.fallocate(f.nodeid, fh, 0, 100)],
      ['setxattr', req.setxattr(f.nodeid, 'user.x', enc.encode('1'))],
      ['removexattr', req.removexattr(f.nodeid, 'user.x')],
    ];
    for (const [what, r] of changes) expect(call(s, r).errno, what).toBe(E.EROFS);
    expect(fs.readdirSync(share()).sort()).toEqual(['d', 'f']);
    expect(fs.readFileSync(share('f'), 'utf8')).toBe('data');
  });

  it("uid/gid map: host ids shown as the guest's, unmapped ones as 65534; chown to an unmapped id is EPERM", () => {
    fs.writeFileSync(share('f'), '');
    const s = serve({
      uidMap: [{ guest: 1000, host: process.getuid!(), count: 1 }],
      gidMap: [{ guest: 1000, host: process.getgid!(), count: 1 }],
    });
    const f = entryOf(call(s, req.lookup(1, 'f')));
    expect([f.uid, f.gid]).toEqual([1000, 1000]);
    expect(call(s, req.setattr(f.nodeid, { uid: 5 })).errno).toBe(E.EPERM);
    expect(call(s, req.create(1, 'g', O_CREAT | O_WRONLY, 0o644, { uid: 5, gid: 5 })).errno).toBe(E.EPERM);
    expect(call(s, req.setattr(f.nodeid, { uid: 1000 })).errno).toBe(0);
  });

  it.skipIf(!isRoot)(
    "a root server gives new files to their creator, keeping a setgid directory's group",
    () => {
      fs.mkdirSync(share('sg'));
      fs.chownSync(share('sg'), 0, 777);
      fs.chmodSync(share('sg'), 0o2777);
      const s = serve();
      const who = { uid: 1234, gid: 4321 };
      expect(call(s, req.create(1, 'f', O_CREAT | O_WRONLY, 0o644, who)).errno).toBe(0);
      expect(call(s, req.mkdir(1, 'd', 0o755, who)).errno).toBe(0);
      expect(call(s, req.symlink(1, 'l', 'f', who)).errno).toBe(0);
      for (const p of ['f', 'd', 'l']) {
        const st = fs.lstatSync(share(p));
        expect([st.uid, st.gid], p).toEqual([1234, 4321]);
      }
      const sg = entryOf(call(s, req.lookup(1, 'sg')));
      expect(call(s, req.create(sg.nodeid, 'g', O_CREAT | O_WRONLY, 0o644, who)).errno).toBe(0);
      const st = fs.statSync(share('sg/g'));
      expect([st.uid, st.gid]).toEqual([1234, 777]);
    },
  );

  it("modes are what the guest asked, whatever the server's umask", () => {
    const old = process.umask(0o077);
    try {
      const s = serve();
      call(s, req.create(1, 'f', O_CREAT | O_WRONLY, 0o666));
      call(s, req.mkdir(1, 'd', 0o777));
      expect(fs.statSync(share('f')).mode & 0o7777).toBe(0o666);
      expect(fs.statSync(share('d')).mode & 0o7777).toBe(0o777);
    } finally {
      process.umask(old);
    }
  });

  it('options are checked: a missing share, a bad cache mode, a maxWrite that is no page multiple', () => {
    expect(() => new FuseServer({ root: path.join(fixture.dir, 'nope') })).toThrow(/does not exist/);
    fs.writeFileSync(path.join(fixture.dir, 'file'), '');
    expect(() => new FuseServer({ root: path.join(fixture.dir, 'file') })).toThrow(/not a directory/);
    expect(() => new FuseServer({ root: share(), cache: 'sometimes' as 'auto' })).toThrow(
      /never, auto or always/,
    );
    expect(() => new FuseServer({ root: share(), maxWrite: 5000 })).toThrow(/multiple of 4096/);
    expect(() => new FuseServer({ root: share(), uidMap: [{ guest: -1, host: 0, count: 1 }] })).toThrow(
      /32-bit id/,
    );
  });
});
