// A FUSE session saved from one server and restored into a new one over the same directory (what a
// snapshot and a restore of a VM with a share do): the guest's node ids and open files go on
// naming the same host files, its directory listing goes on where it was, and what changed on the
// host meanwhile is refused, never mistaken for another file. Real files; no root needed.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attrOf, call, direntsOf, entryOf, fhOf, req } from '../../test/fuse/requests';
import { shareFixture } from '../../test/fuse/server-fixture';
import * as E from './errno';
import type { FuseServer } from './server';
import { fsSessionFault, type FsSessionState } from './session';

const O_RDONLY = 0;
const O_RDWR = 2;
const O_APPEND = 0o2000;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const ROOT = 1;
const dec = new TextDecoder();

const fixture = shareFixture('fuse-session-', (dir) => {
  fs.mkdirSync(path.join(dir, 'share', 'sub', 'deep'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'outside'));
  fs.writeFileSync(path.join(dir, 'outside', 'secret'), 'outside the share');
});
const { share } = fixture;
const serve = (init = true) => fixture.serve({}, init);
const lookup = (s: FuseServer, parent: number, name: string) =>
  entryOf(call(s, req.lookup(parent, name))).nodeid;
const read = (s: FuseServer, node: number, fh: number, size = 100) => {
  const r = call(s, req.read(node, fh, 0, size));
  return r.errno ? r.errno : dec.decode(r.body);
};
/** Through JSON, as a snapshot's devices.json carries it. */
const throughJson = (s: FsSessionState): FsSessionState => JSON.parse(JSON.stringify(s)) as FsSessionState;

describe('a FUSE session saved and restored into a new server', () => {
  it('keeps node ids, lookup counts, open files (their flags) and a listing under way', () => {
    fs.writeFileSync(share('sub/deep/a.txt'), 'alpha');
    for (let i = 0; i < 40; i++) fs.writeFileSync(share(`sub/f${String(i).padStart(2, '0')}`), '');
    const a = serve();
    const sub = lookup(a, ROOT, 'sub');
    const deep = lookup(a, sub, 'deep');
    const file = lookup(a, deep, 'a.txt');
    lookup(a, deep, 'a.txt'); // two lookups of one node: one FORGET of 1 must leave it
    const rfh = fhOf(call(a, req.open(file, O_RDONLY)));
    const afh = fhOf(call(a, req.open(file, O_RDWR | O_APPEND)));
    const made = call(a, req.create(deep, 'new.txt', O_RDWR | O_CREAT | O_EXCL));
    const newNode = entryOf(made).nodeid;
    const newFh = fhOf(made, true);
    expect(call(a, req.write(newNode, newFh, 0, new TextEncoder().encode('written before'))).errno).toBe(0);
    const dfh = fhOf(call(a, req.opendir(sub)));
    const first = direntsOf(call(a, req.readdir(sub, dfh, 0, 200)));
    expect(first.length).toBeGreaterThan(2);
    const rootFh = fhOf(call(a, req.opendir(ROOT)));
    const saved = throughJson(a.saveSession());
    expect(saved.nodes).toHaveLength(4);
    expect(saved.handles).toHaveLength(5);

    const b = serve(false); // the restored VM's server: no INIT, the guest did it before
    expect(b.restoreSession(saved)).toEqual({ nodes: 4, handles: 5, stale: 0 });
    expect(b.held).toEqual({ nodes: 5, handles: 5 });
    expect(read(b, file, rfh)).toBe('alpha');
    expect(attrOf(call(b, req.getattr(newNode))).size).toBe(14);
    // O_APPEND kept: a write at offset 0 lands at the end.
    expect(call(b, req.write(file, afh, 0, new TextEncoder().encode('+'))).errno).toBe(0);
    expect(fs.readFileSync(share('sub/deep/a.txt'), 'utf8')).toBe('alpha+');
    // O_CREAT|O_EXCL were for making it: opened again, the file keeps what was written.
    expect(read(b, newNode, newFh)).toBe('written before');
    // The listing goes on from the last entry the guest was given, none twice, none missed.
    const rest = direntsOf(call(b, req.readdir(sub, dfh, first[first.length - 1]!.off, 4096)));
    const names = [...first, ...rest].map((d) => d.name).filter((n) => n.startsWith('f'));
    expect(names.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `f${String(i).padStart(2, '0')}`));
    expect(direntsOf(call(b, req.readdir(ROOT, rootFh, 0))).map((d) => d.name)).toContain('sub');
    // Lookup counts kept: one FORGET of the two leaves the node; the second lets it go.
    call(b, req.forget(file, 1));
    expect(call(b, req.getattr(file)).errno).toBe(0);
    call(b, req.forget(file, 1));
    expect(call(b, req.getattr(file)).errno).toBe(E.ESTALE);
    // New ids and fhs never name what the guest held.
    const again = lookup(b, deep, 'a.txt');
    expect([sub, deep, file, newNode]).not.toContain(again);
    const fh2 = fhOf(call(b, req.open(again, O_RDONLY)));
    expect([rfh, afh, newFh, dfh, rootFh]).not.toContain(fh2);
  });

  it('leaves out what changed on the host: gone, moved out, or swapped for a symlink out of the share', () => {
    for (const f of ['gone', 'moved', 'swapped', 'kept']) fs.writeFileSync(share(`sub/${f}`), f);
    const a = serve();
    const sub = lookup(a, ROOT, 'sub');
    const ids = Object.fromEntries(['gone', 'moved', 'swapped', 'kept'].map((f) => [f, lookup(a, sub, f)]));
    const fhs = Object.fromEntries(
      Object.entries(ids).map(([f, id]) => [f, fhOf(call(a, req.open(id!, O_RDONLY)))]),
    );
    const deletedBefore = lookup(a, sub, 'kept'); // (a second lookup of kept)
    expect(deletedBefore).toBe(ids.kept);
    fs.writeFileSync(share('sub/unlinked'), 'x');
    const unlinked = lookup(a, sub, 'unlinked');
    fs.unlinkSync(share('sub/unlinked')); // deleted while the guest holds it: no name to save
    const saved = throughJson(a.saveSession());
    expect(saved.nodes.find((n) => n.id === unlinked)!.path).toBeNull();

    // Between the snapshot and the restore, on the host:
    fs.unlinkSync(share('sub/gone'));
    fs.renameSync(share('sub/moved'), path.join(fixture.dir, 'outside', 'moved'));
    fs.unlinkSync(share('sub/swapped'));
    fs.symlinkSync(path.join(fixture.dir, 'outside', 'secret'), share('sub/swapped'));

    const b = serve(false);
    const count = b.restoreSession(saved);
    // sub, kept: back; gone, moved, swapped, unlinked: left out (nodes), and 3 open files of them.
    expect(count).toEqual({ nodes: 2, handles: 1, stale: 7 });
    expect(read(b, ids.kept!, fhs.kept!)).toBe('kept');
    for (const f of ['gone', 'moved', 'swapped']) {
      expect(call(b, req.getattr(ids[f]!)).errno).toBe(E.ESTALE);
      expect(read(b, ids[f]!, fhs[f]!)).toBe(E.EBADF);
    }
    expect(call(b, req.getattr(unlinked)).errno).toBe(E.ESTALE);
    // The symlink is a symlink to the guest, looked up anew; never the file outside.
    const link = entryOf(call(b, req.lookup(sub, 'swapped')));
    expect(link.mode & 0o170000).toBe(0o120000);
    expect(call(b, req.open(link.nodeid, O_RDONLY)).errno).not.toBe(0);
  });

  it('saves a server that never saw INIT as no session, and refuses malformed or late restores', () => {
    const a = serve(false);
    const none = a.saveSession();
    expect(none).toMatchObject({ minor: 0, nodes: [], handles: [] });
    const b = serve(false);
    b.restoreSession(none);
    expect(call(b, req.getattr(ROOT)).errno).toBe(E.EIO); // INIT still awaited

    const c = serve();
    expect(() => c.restoreSession(none)).toThrow(/has served nothing/);
    const good: FsSessionState = { minor: 31, nextNode: 3, nextFh: 2, nodes: [], handles: [] };
    expect(fsSessionFault(good, 10, 10)).toBeUndefined();
    const bad: unknown[] = [
      null,
      { ...good, minor: -1 },
      { ...good, minor: 5 }, // below what INIT agrees to (7.23)
      { ...good, nextNode: 0 },
      { ...good, nodes: [{ id: 1, refs: 1, type: 0o100000, path: null }] }, // the root's id
      { ...good, nodes: [{ id: 2, refs: 1, type: 0o100000, path: '../x' }] }, // not base64
      { ...good, nodes: [{ id: 2, refs: 0, type: 0o100000, path: null }] },
      { ...good, nodes: [{ id: 2, refs: 1, type: 0o777, path: null }] },
      { ...good, nodes: [{ id: 3, refs: 1, type: 0o100000, path: null }] }, // not below nextNode
      { ...good, handles: [{ fh: 1, flags: 0, dir: 'no', path: null }] },
      {
        ...good,
        handles: [
          { fh: 1, flags: 0, dir: false, path: null },
          { fh: 1, flags: 0, dir: false, path: null },
        ],
      },
      {
        ...good,
        nodes: Array.from({ length: 11 }, (_, i) => ({ id: i + 2, refs: 1, type: 0o100000, path: null })),
      },
    ];
    for (const s of bad) expect(fsSessionFault(s, 10, 10), JSON.stringify(s)).toBeTypeOf('string');
    expect(() => serve(false).restoreSession(bad[1])).toThrow(/unusable: a bad minor version/);
  });

  it('names files beneath a share of "/" by their paths there', () => {
    const s = fixture.serve({ root: '/' });
    lookup(s, lookup(s, ROOT, 'proc'), 'self');
    const saved = s.saveSession();
    expect(saved.nodes.map((n) => Buffer.from(n.path!, 'base64').toString()).sort()).toEqual([
      'proc',
      'proc/self',
    ]);
  });

  it('walks a saved path one name at a time: "..", "." and empty names are refused', () => {
    fs.writeFileSync(share('sub/x'), 'x');
    const saved = (p: string): FsSessionState => ({
      minor: 31,
      nextNode: 3,
      nextFh: 1,
      nodes: [{ id: 2, refs: 1, type: 0o100000, path: Buffer.from(p).toString('base64') }],
      handles: [],
    });
    for (const p of ['../outside/secret', 'sub/../sub/x', 'sub//x', './sub/x', 'sub/x/', '/sub/x'])
      expect(serve(false).restoreSession(saved(p)), p).toEqual({ nodes: 0, handles: 0, stale: 1 });
    expect(serve(false).restoreSession(saved('sub/x'))).toEqual({ nodes: 1, handles: 0, stale: 0 });
  });
});
