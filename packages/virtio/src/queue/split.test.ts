import { describe, expect, it } from 'vitest';
import { ArrayGuestMemory } from '@vmm/hypervisor';
import { RegionViews } from '../memory/region-views';
import { DescriptorChain } from './chain';
import * as Q from './layout';
import { SplitQueue } from './split';

const DESC = 0x1000;
const AVAIL = 0x20000;
const USED = 0x30000;
const DATA = 0x40000;

function setup(size = 16, opts: { indirect?: boolean; maxChainBytes?: number } = {}) {
  const mem = new ArrayGuestMemory([
    { gpa: 0, size: 1024 * 1024 },
    { gpa: 0x200000, size: 64 * 1024 },
  ]);
  const views = new RegionViews(mem);
  const q = new SplitQueue(size, opts.maxChainBytes);
  q.size = size;
  q.descAddr = DESC;
  q.driverAddr = AVAIL;
  q.deviceAddr = USED;
  q.indirect = opts.indirect ?? true;
  expect(q.activate(views)).toBe(true);
  q.ready = true;
  const chain = new DescriptorChain(size);
  let availIdx = 0;
  const desc = (table: number, i: number, addr: number, len: number, flags: number, next = 0) => {
    const o = table + 16 * i;
    mem.writeU64(o, BigInt(addr));
    mem.writeU32(o + 8, len);
    mem.writeU16(o + 12, flags);
    mem.writeU16(o + 14, next);
  };
  const publish = (head: number) => {
    mem.writeU16(AVAIL + Q.AVAIL_RING + 2 * (availIdx % size), head);
    availIdx = (availIdx + 1) & 0xffff;
    mem.writeU16(AVAIL + Q.AVAIL_IDX, availIdx);
  };
  const used = (i: number) => ({ id: mem.readU32(USED + 4 + 8 * i), len: mem.readU32(USED + 8 + 8 * i) });
  return { mem, views, q, chain, desc, publish, used };
}

const { VIRTQ_DESC_F_NEXT: NEXT, VIRTQ_DESC_F_WRITE: WRITE, VIRTQ_DESC_F_INDIRECT: INDIRECT } = Q;

describe('split virtqueue walker (virtio 1.2 §2.7)', () => {
  it('reads a chain: readable then writable segments, zero-length ones dropped', () => {
    const t = setup();
    t.desc(DESC, 3, DATA, 16, NEXT, 7);
    t.desc(DESC, 7, DATA + 100, 0, NEXT, 1);
    t.desc(DESC, 1, 0x200000, 512, NEXT | WRITE, 2);
    t.desc(DESC, 2, DATA + 32, 1, WRITE);
    t.publish(3);
    expect(t.q.pop(t.chain)).toBe('chain');
    expect(t.chain.head).toBe(3);
    expect(t.chain.length).toBe(3);
    expect(t.chain.readableBytes).toBe(16);
    expect(t.chain.writableBytes).toBe(513);
    expect(t.chain.firstWritable).toBe(1);
    expect(t.q.pop(t.chain)).toBe('empty');
  });

  it('copies across segment boundaries in both directions', () => {
    const t = setup();
    t.mem.write(DATA, new Uint8Array([1, 2, 3]));
    t.mem.write(DATA + 64, new Uint8Array([4, 5, 6, 7]));
    t.desc(DESC, 0, DATA, 3, NEXT, 1);
    t.desc(DESC, 1, DATA + 64, 4, NEXT, 2);
    t.desc(DESC, 2, DATA + 128, 2, NEXT | WRITE, 3);
    t.desc(DESC, 3, DATA + 192, 100, WRITE);
    t.publish(0);
    expect(t.q.pop(t.chain)).toBe('chain');
    const out = new Uint8Array(5);
    expect(t.chain.read(2, out, 0, 5)).toBe(5);
    expect([...out]).toEqual([3, 4, 5, 6, 7]);
    const src = new Uint8Array(50).map((_, i) => i + 1);
    expect(t.chain.write(1, src, 0, 50)).toBe(50);
    expect(t.mem.readU8(DATA + 129)).toBe(1);
    expect([...t.mem.slice(DATA + 192, 3)!]).toEqual([2, 3, 4]);
    const views: Uint8Array[] = [];
    expect(t.chain.writableViews(1, 10, views)).toBe(10);
    expect(views.map((v) => v.length)).toEqual([1, 9]);
  });

  it('follows an indirect table (§2.7.5.3)', () => {
    const t = setup();
    const table = DATA + 0x1000;
    t.desc(table, 0, DATA, 16, NEXT, 1);
    t.desc(table, 1, DATA + 16, 8, NEXT | WRITE, 2);
    t.desc(table, 2, DATA + 24, 1, WRITE);
    t.desc(DESC, 5, table, 48, INDIRECT);
    t.publish(5);
    expect(t.q.pop(t.chain)).toBe('chain');
    expect(t.chain.head).toBe(5);
    expect(t.chain.readableBytes).toBe(16);
    expect(t.chain.writableBytes).toBe(9);
  });

  // Each hostile chain comes back on the used ring with length 0; the queue keeps working.
  const hostile: [string, (t: ReturnType<typeof setup>) => void][] = [
    ['a loop', (t) => (t.desc(DESC, 0, DATA, 8, NEXT, 1), t.desc(DESC, 1, DATA, 8, NEXT, 0))],
    ['a self-loop', (t) => t.desc(DESC, 0, DATA, 8, NEXT, 0)],
    ['next out of range', (t) => t.desc(DESC, 0, DATA, 8, NEXT, 16)],
    ['an address past RAM', (t) => t.desc(DESC, 0, 0x10_0000_0000, 8, 0)],
    ['a buffer running off a region', (t) => t.desc(DESC, 0, 1024 * 1024 - 4, 8, 0)],
    ['a buffer in the hole between regions', (t) => t.desc(DESC, 0, 0x100000, 8, 0)],
    ['an address beyond 2^53', (t) => t.desc(DESC, 0, 0x7fff_ffff_ffff_f000, 8, 0)],
    [
      'a readable after a writable',
      (t) => (t.desc(DESC, 0, DATA, 8, NEXT | WRITE, 1), t.desc(DESC, 1, DATA, 8, 0)),
    ],
    ['an indirect table of a partial entry', (t) => t.desc(DESC, 0, DATA, 20, INDIRECT)],
    ['an empty indirect table', (t) => t.desc(DESC, 0, DATA, 0, INDIRECT)],
    [
      'INDIRECT with NEXT',
      (t) => (t.desc(DATA, 0, DATA, 8, 0), t.desc(DESC, 0, DATA, 16, INDIRECT | NEXT, 1)),
    ],
    [
      'a nested indirect table',
      (t) => (t.desc(DATA, 0, DATA, 16, INDIRECT), t.desc(DESC, 0, DATA, 16, INDIRECT)),
    ],
    [
      'a loop inside an indirect table',
      (t) => (
        t.desc(DATA, 0, DATA, 8, NEXT, 1),
        t.desc(DATA, 1, DATA, 8, NEXT, 0),
        t.desc(DESC, 0, DATA, 32, INDIRECT)
      ),
    ],
    ['an indirect table past RAM', (t) => t.desc(DESC, 0, 0x300000, 64, INDIRECT)],
    [
      'more bytes than the cap',
      (t) => (t.desc(DESC, 0, DATA, 0x80000, NEXT, 1), t.desc(DESC, 1, DATA, 0x80000, 0)),
    ],
  ];
  for (const [name, lay] of hostile) {
    it(`fails a chain with ${name}`, () => {
      const t = setup(16, { maxChainBytes: 0x80000 });
      lay(t);
      t.publish(0);
      expect(t.q.pop(t.chain)).toBe('empty');
      expect(t.q.malformed).toBe(1);
      expect(t.used(0)).toEqual({ id: 0, len: 0 });
      expect(t.mem.readU16(USED + Q.USED_IDX)).toBe(1);
      t.desc(DESC, 2, DATA, 8, 0);
      t.publish(2);
      expect(t.q.pop(t.chain)).toBe('chain');
    });
  }

  it('refuses indirect descriptors unless negotiated', () => {
    const t = setup(16, { indirect: false });
    t.desc(DATA, 0, DATA, 8, 0);
    t.desc(DESC, 0, DATA, 16, INDIRECT);
    t.publish(0);
    expect(t.q.pop(t.chain)).toBe('empty');
    expect(t.q.malformed).toBe(1);
  });

  it('breaks (for DEVICE_NEEDS_RESET) on a head index out of range', () => {
    const t = setup();
    t.publish(16);
    expect(t.q.pop(t.chain)).toBe('broken');
    expect(t.q.broken).toBe(true);
    expect(t.q.pop(t.chain)).toBe('broken');
  });

  it('breaks when avail idx runs more than the queue size ahead', () => {
    const t = setup();
    t.mem.writeU16(AVAIL + Q.AVAIL_IDX, 17);
    expect(t.q.pop(t.chain)).toBe('broken');
  });

  it('refuses misaligned rings and rings outside memory at activation', () => {
    const mem = new ArrayGuestMemory([{ gpa: 0, size: 65536 }]);
    const views = new RegionViews(mem);
    const q = new SplitQueue(256);
    const ok = (d: number, a: number, u: number, size = 256) => {
      q.reset();
      q.size = size;
      q.descAddr = d;
      q.driverAddr = a;
      q.deviceAddr = u;
      return q.activate(views);
    };
    expect(ok(0, 0x1000, 0x2000)).toBe(true);
    expect(ok(8, 0x1000, 0x2000)).toBe(false);
    expect(ok(0, 0x1001, 0x2000)).toBe(false);
    expect(ok(0, 0x1000, 0x2002)).toBe(false);
    expect(ok(0, 0x1000, 65536 - 100)).toBe(false);
    expect(ok(-1, 0x1000, 0x2000)).toBe(false);
    expect(ok(0, 0x1000, 0x2000, 512)).toBe(false);
  });
});

describe('queue state: the one form a queue leaves its SplitQueue in (a device thread, a snapshot)', () => {
  it('a queue restored from state() goes on where the first stopped, across the 16-bit wrap', () => {
    const t = setup(4);
    t.q.restoreIndices(0xfffe, 0xfffe);
    for (let i = 0; i < 3; i++) t.desc(DESC, i, DATA + 64 * i, 64, WRITE);
    t.publish(0);
    t.publish(1);
    t.publish(2);
    // The test's avail index starts at 0: move it to where the device's positions are.
    t.mem.writeU16(AVAIL + Q.AVAIL_IDX, (0xfffe + 3) & 0xffff);
    for (let i = 0; i < 3; i++) t.mem.writeU16(AVAIL + Q.AVAIL_RING + 2 * ((0xfffe + i) % 4), i);
    expect(t.q.pop(t.chain)).toBe('chain');
    expect(t.chain.head).toBe(0);
    t.q.pushUsed(0, 64);
    const state = t.q.state();
    expect(state).toEqual({
      size: 4,
      ready: true,
      descAddr: DESC,
      driverAddr: AVAIL,
      deviceAddr: USED,
      eventIdx: false,
      indirect: true,
      nextAvail: 0xffff,
      nextUsed: 0xffff,
    });
    const copy = new SplitQueue(4);
    expect(copy.restore(structuredClone(state), t.views)).toBe(true);
    expect(copy.live).toBe(true);
    const chain = new DescriptorChain(4);
    expect(copy.pop(chain)).toBe('chain');
    expect(chain.head).toBe(1);
    copy.pushUsed(1, 64);
    expect(copy.pop(chain)).toBe('chain');
    expect(chain.head).toBe(2);
    copy.pushUsed(2, 64);
    expect(copy.pop(chain)).toBe('empty');
    expect(t.mem.readU16(USED + Q.USED_IDX)).toBe(1); // 0xffff + 2, wrapped
    expect(t.used(3)).toEqual({ id: 1, len: 64 }); // slot 0xffff % 4
    expect(t.used(0)).toEqual({ id: 2, len: 64 });
  });

  it('a state that does not fit guest memory restores to a queue that is not live; one not ready stays so', () => {
    const t = setup(16);
    const copy = new SplitQueue(16);
    expect(copy.restore({ ...t.q.state(), deviceAddr: 0x10_0000_0000 }, t.views)).toBe(false);
    expect(copy.live).toBe(false);
    expect(copy.restore({ ...t.q.state(), ready: false }, t.views)).toBe(true);
    expect(copy.live).toBe(false);
    expect(copy.state().descAddr).toBe(DESC);
  });
});

describe('driver notifications while a poller watches the ring (§2.7.7, §2.7.10)', () => {
  /** Whether a driver that just published index `newIdx` after `oldIdx` must notify (Linux virtqueue_kick_prepare). */
  function driverKicks(t: ReturnType<typeof setup>, size: number, oldIdx: number, newIdx: number): boolean {
    if (t.q.eventIdx) return Q.needEvent(t.mem.readU16(USED + Q.availEventOffset(size)), newIdx, oldIdx);
    return (t.mem.readU16(USED + Q.USED_FLAGS) & Q.VIRTQ_USED_F_NO_NOTIFY) === 0;
  }

  for (const eventIdx of [false, true]) {
    it(`${eventIdx ? 'with EVENT_IDX' : 'with NO_NOTIFY'}: off while polling, batches included; on again after`, () => {
      const t = setup(16);
      t.q.eventIdx = eventIdx;
      t.desc(DESC, 0, DATA, 16, 0);
      expect(t.q.enableNotification()).toBe(false);
      expect(driverKicks(t, 16, 0, 1)).toBe(true);
      t.q.startPolling();
      for (let i = 0; i < 40; i++) {
        expect(driverKicks(t, 16, i, i + 1)).toBe(false);
        t.publish(0);
        expect(t.q.hasAvailable()).toBe(true);
        expect(t.q.pop(t.chain)).toBe('chain');
        t.q.pushUsed(0, 0);
        // The end of a batch (a device model re-arming) keeps them off while the poller watches...
        expect(t.q.enableNotification()).toBe(false);
        // ...so a request published meanwhile is not kicked either.
        expect(driverKicks(t, 16, i + 1, i + 2)).toBe(false);
      }
      t.publish(0);
      expect(t.q.stopPolling()).toBe(true); // arrived before the poller re-armed: serve it now
      expect(t.q.pop(t.chain)).toBe('chain');
      expect(t.q.enableNotification()).toBe(false);
      expect(driverKicks(t, 16, 41, 42)).toBe(true);
    });
  }

  it('a ring reused after a reset mid-poll asks for notifications again', () => {
    const t = setup(16);
    t.q.startPolling();
    expect(t.mem.readU16(USED + Q.USED_FLAGS)).toBe(Q.VIRTQ_USED_F_NO_NOTIFY);
    t.q.reset(); // the driver resets and sets the queue up again on the same memory
    t.q.size = 16;
    t.q.descAddr = DESC;
    t.q.driverAddr = AVAIL;
    t.q.deviceAddr = USED;
    expect(t.q.activate(t.views)).toBe(true);
    expect(t.mem.readU16(USED + Q.USED_FLAGS)).toBe(0);
  });
});
