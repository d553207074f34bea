// The node table's keys: one node per host inode (device and inode number), found again by key,
// and told apart when two inodes share the key's hash (the same inode number on two devices, or two
// inode numbers past 2^53 that one JS number cannot tell apart). No host files: the fds are numbers.
import { describe, expect, it } from 'vitest';
import { InodeKey } from './attr';
import { NodeTable } from './nodes';

function key(devMajor: number, devMinor: number, inoHi: number, inoLo: number): InodeKey {
  const k = new InodeKey();
  Object.assign(k, { devMajor, devMinor, inoHi, inoLo });
  return k;
}

function table(max = 100) {
  const closed: number[] = [];
  const t = new NodeTable(3, key(8, 1, 0, 2), 0o40000, max, (fd) => closed.push(fd));
  return { t, closed };
}

describe('NodeTable', () => {
  it('gives one inode one node, found again by an equal key, and closes the second fd', () => {
    const { t, closed } = table();
    const a = t.intern(10, key(8, 1, 0, 500), 0o100000)!;
    const again = t.intern(11, key(8, 1, 0, 500), 0o100000)!;
    expect(again).toBe(a);
    expect(a.refs).toBe(2);
    expect(closed).toEqual([11]);
    expect(t.find(key(8, 1, 0, 500))).toBe(a);
    expect(t.find(key(8, 1, 0, 2))).toBe(t.root);
    expect(t.find(key(8, 1, 0, 501))).toBeUndefined();
  });

  it('keeps its own copy of the key: the caller reuses its key object', () => {
    const { t } = table();
    const k = key(8, 1, 0, 500);
    const a = t.intern(10, k, 0o100000)!;
    k.inoLo = 501;
    expect(t.find(key(8, 1, 0, 500))).toBe(a);
    expect(t.find(k)).toBeUndefined();
  });

  it('tells apart inodes whose keys share a hash, and forgets each alone', () => {
    const { t, closed } = table();
    // The same inode number on three devices.
    const a = t.intern(10, key(8, 1, 0, 500), 0o100000)!;
    const b = t.intern(11, key(8, 2, 0, 500), 0o100000)!;
    const c = t.intern(12, key(9, 1, 0, 500), 0o100000)!;
    // Two inode numbers past 2^53 whose hashes meet (the high half's folded bits cancel the low
    // half's difference): 2^53 and 2^54 + 3.
    const d = t.intern(13, key(8, 1, 0x20_0000, 0), 0o100000)!;
    const e = t.intern(14, key(8, 1, 0x40_0000, 3), 0o100000)!;
    expect(new Set([a, b, c, d, e]).size).toBe(5);
    expect(key(8, 1, 0x20_0000, 0).hash).toBe(key(8, 1, 0x40_0000, 3).hash);
    expect(t.find(key(8, 2, 0, 500))).toBe(b);
    expect(t.find(key(8, 1, 0x40_0000, 3))).toBe(e);
    // Forget one from the middle of a chain, then its first, then its last.
    t.forget(b.id, 1);
    expect(t.find(key(8, 2, 0, 500))).toBeUndefined();
    expect(t.find(key(8, 1, 0, 500))).toBe(a);
    expect(t.find(key(9, 1, 0, 500))).toBe(c);
    t.forget(c.id, 1);
    t.forget(a.id, 1);
    expect(t.find(key(8, 1, 0, 500))).toBeUndefined();
    t.forget(d.id, 1);
    expect(t.find(key(8, 1, 0x40_0000, 3))).toBe(e);
    expect(closed).toEqual([11, 12, 10, 13]);
    expect(t.size).toBe(2);
  });

  it('gives neighbouring inode numbers past 2^53 hashes of their own (no long chains)', () => {
    const hashes = new Set<number>();
    for (let lo = 0; lo < 4096; lo++) hashes.add(key(8, 1, 0xffff_fff0, lo).hash);
    expect(hashes.size).toBe(4096);
    // Below 2^53 the hash is the inode number itself.
    expect(key(8, 1, 0x1f_ffff, 0xffff_ffff).hash).toBe(2 ** 53 - 1);
    expect(key(8, 1, 0, 12345).hash).toBe(12345);
  });

  it('finds the root again after clear(), and a node again after adopt()', () => {
    const { t, closed } = table();
    t.intern(10, key(8, 1, 0, 500), 0o100000);
    t.intern(11, key(8, 2, 0, 2), 0o100000); // the root's inode number on another device
    t.clear();
    expect(closed).toEqual([10, 11]);
    expect(t.find(key(8, 1, 0, 2))).toBe(t.root);
    expect(t.find(key(8, 2, 0, 2))).toBeUndefined();
    expect(t.adopt(40, 20, key(8, 1, 0, 500), 0o100000, 3)).toBe(true);
    expect(t.find(key(8, 1, 0, 500))?.id).toBe(40);
    expect(t.adopt(41, 21, key(8, 1, 0, 500), 0o100000, 1)).toBe(false);
    expect(closed).toEqual([10, 11, 21]);
  });
});
