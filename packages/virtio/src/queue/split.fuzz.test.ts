// Fuzz: the queue walker against random and hostile descriptor tables, for a bounded time.
// Any access outside a region would throw a RangeError from the region's DataView, so "no throw"
// also means "no access outside guest memory"; every segment handed out is checked against RAM.
// "No hang" is counted, not timed: the descriptors each pop reads are bounded by the queue size.
// The seed is printed; FUZZ_SEED=<seed> replays a run.
import { describe, expect, it } from 'vitest';
import { ArrayGuestMemory } from '@vmm/hypervisor';
import { RegionViews } from '../memory/region-views';
import { DescriptorChain } from './chain';
import * as Q from './layout';
import { SplitQueue } from './split';
import { fuzzSeed, xorshift32 as rng } from '../../test/support/fuzz-seed';

const LOW = { gpa: 0, size: 4 * 1024 * 1024 };
const HIGH = { gpa: 0x8000_0000, size: 1024 * 1024 };
const FUZZ_MS = 3000;
/** What SplitQueue's walk reads of each descriptor it visits with getUint32: addr (two halves), len. */
const U32_READS_PER_DESCRIPTOR = 3;

/** Counts getUint32 reads through the views it hands out. */
class CountingView extends DataView<ArrayBufferLike> {
  constructor(
    base: DataView,
    private readonly counter: { u32Reads: number },
  ) {
    super(base.buffer, base.byteOffset, base.byteLength);
  }
  override getUint32(offset: number, littleEndian?: boolean): number {
    this.counter.u32Reads++;
    return super.getUint32(offset, littleEndian);
  }
}

/** Guest RAM whose views count getUint32 reads: descriptor visits, as the ring fields are u16. */
class CountingViews extends RegionViews {
  u32Reads = 0;
  private readonly counted: DataView[] = [];
  override view(region: number): DataView {
    return (this.counted[region] ??= new CountingView(super.view(region), this));
  }
}

/** Rings each run walks, whatever FUZZ_MS allows. */
const MIN_ROUNDS = 16;

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[r() % xs.length]!;
}

describe('split queue fuzz', () => {
  it(`survives random and mutated rings for ${FUZZ_MS} ms: no throw, bounded walks, every segment inside RAM`, () => {
    const mem = new ArrayGuestMemory([LOW, HIGH]);
    const views = new CountingViews(mem);
    const seed = fuzzSeed();
    console.log(`split queue fuzz: seed ${seed} (FUZZ_SEED=${seed} replays it)`);
    const r = rng(seed);
    const deadline = Date.now() + FUZZ_MS;
    const low = mem.regions[0]!.bytes;
    let rounds = 0;
    let chains = 0;
    let mostPerWalk = 0; // the most descriptors one walk read, as a fraction of the queue size
    let malformed = 0;
    const addrs = [
      0,
      8,
      LOW.size - 8,
      LOW.size - 1,
      LOW.size,
      HIGH.gpa - 4,
      HIGH.gpa,
      HIGH.gpa + HIGH.size - 16,
      0xffff_ffff,
      2 ** 53 - 1,
    ];
    // At least MIN_ROUNDS rings however slow the machine (a loaded CI host once fit 9 in the time).
    while (rounds < MIN_ROUNDS || Date.now() < deadline) {
      rounds++;
      const size = 1 << (r() % 4 === 0 ? r() % 16 : r() % 11); // 1 .. 32768, mostly <= 1024
      const desc = 0x10_0000;
      const avail = desc + 16 * size;
      const used = Math.ceil((avail + Q.availSize(size)) / 4) * 4;
      const q = new SplitQueue(size, r() & 1 ? 1 << 20 : undefined);
      q.descAddr = desc;
      q.driverAddr = avail;
      q.deviceAddr = used;
      q.indirect = (r() & 3) !== 0;
      q.eventIdx = (r() & 1) !== 0;
      expect(q.activate(views)).toBe(true);
      q.ready = true;
      // Fill the descriptor table: random, biased towards plausible and towards hostile values.
      const dv = new DataView(low.buffer);
      for (let i = 0; i < size; i++) {
        const o = desc + 16 * i;
        const mode = r() % 8;
        const addr =
          mode === 0 ? r() * 2 ** 21 + r() : mode === 1 ? pick(r, addrs) : r() % (LOW.size - 0x1000);
        dv.setUint32(o, addr % 2 ** 32, true);
        dv.setUint32(o + 4, Math.floor(addr / 2 ** 32) >>> 0, true);
        const len = pick(r, [0, 1, 16, 512, 4096, r() % 65536, r(), 16 * (r() % 70_000)]);
        dv.setUint32(o + 8, len >>> 0, true);
        dv.setUint16(o + 12, r() % 16 === 0 ? r() & 0xffff : r() & 7, true);
        const next = pick(r, [i + 1, i, 0, r() & 0xffff, (i + 1) % size, size]);
        dv.setUint16(o + 14, next & 0xffff, true);
      }
      // Half the rounds: well-formed chains of 1-8 descriptors, then a few bytes mutated.
      if (r() & 1) {
        let w = false;
        for (let i = 0; i < size; i++) {
          const o = desc + 16 * i;
          const last = i + 1 === size || r() % 4 === 0;
          w = w || r() % 3 === 0;
          dv.setUint32(o, 0x1000 + (r() % 0x8000), true);
          dv.setUint32(o + 4, 0, true);
          dv.setUint32(o + 8, r() % 4096, true);
          dv.setUint16(o + 12, (last ? 0 : Q.VIRTQ_DESC_F_NEXT) | (w ? Q.VIRTQ_DESC_F_WRITE : 0), true);
          dv.setUint16(o + 14, i + 1, true);
          if (last) w = false;
        }
        for (let m = r() % 8; m > 0; m--) low[desc + (r() % (16 * size))] = r() & 0xff;
      }
      // Sometimes a valid 64k-entry indirect table chained end to end, or one long direct chain.
      if (r() % 4 === 0) {
        const table = 0x200000 - (r() % 2) * 0x10_0000;
        const n = Math.min(65536, (LOW.size - table) / 16);
        for (let i = 0; i < n; i++) {
          const o = table + 16 * i;
          dv.setUint32(o, 0x1000 + i, true);
          dv.setUint32(o + 4, 0, true);
          dv.setUint32(o + 8, r() % 3, true);
          dv.setUint16(o + 12, i + 1 < n ? Q.VIRTQ_DESC_F_NEXT : 0, true);
          dv.setUint16(o + 14, (i + 1) & 0xffff, true);
        }
        dv.setUint32(desc, table, true);
        dv.setUint32(desc + 4, 0, true);
        dv.setUint32(desc + 8, 16 * n, true);
        dv.setUint16(desc + 12, Q.VIRTQ_DESC_F_INDIRECT, true);
      }
      // Avail ring: random heads, random start index (wrap-around), sometimes a runaway idx.
      const start = r() & 0xffff;
      for (let i = 0; i < size; i++)
        dv.setUint16(avail + 4 + 2 * i, r() % 1024 === 0 ? r() & 0xffff : r() % size, true);
      const count = r() % 4 === 0 ? r() & 0xffff : r() % (size + 1);
      q.restoreIndices(start, start);
      dv.setUint16(avail + 2, (start + count) & 0xffff, true);
      const chain = new DescriptorChain(size);
      for (let k = 0; k <= size + 1; k++) {
        const reads = views.u32Reads;
        const failed = q.malformed;
        const res = q.pop(chain);
        // One pop walks each pending chain it takes (at most the queue size of them: more pending
        // breaks the ring), and a walk visits at most `size` descriptors of the descriptor table
        // plus at most `size` of one indirect table (§2.7.5.3.1: no nesting).
        const walks = q.malformed - failed + (res === 'chain' ? 1 : 0);
        const visited = (views.u32Reads - reads) / U32_READS_PER_DESCRIPTOR;
        const replay = `FUZZ_SEED=${seed}, ring ${rounds} (size ${size})`;
        expect(walks, replay).toBeLessThanOrEqual(size);
        expect(visited, replay).toBeLessThanOrEqual(2 * size * walks);
        if (walks > 0) mostPerWalk = Math.max(mostPerWalk, visited / walks / size);
        if (res !== 'chain') break;
        chains++;
        let total = 0;
        for (let s = 0; s < chain.length; s++) {
          const reg = mem.regions[chain.region[s]!]!;
          expect(mem.contains(reg.gpa + chain.offset[s]!, chain.len[s]!)).toBe(true);
          total += chain.len[s]!;
        }
        expect(total).toBeLessThanOrEqual(q.maxChainBytes);
        expect(chain.length).toBeLessThanOrEqual(size);
        q.pushUsed(chain.head, chain.writableBytes);
      }
      malformed += q.malformed;
      q.needsNotification();
      q.enableNotification();
    }
    console.log(
      `split queue fuzz: ${rounds} rings, ${chains} chains accepted, ${malformed} failed, ` +
        `at most ${mostPerWalk.toFixed(2)} x the queue size of descriptors read per walk`,
    );
    // Both ways out were taken: chains accepted and chains refused as malformed.
    expect(chains).toBeGreaterThan(0);
    expect(malformed).toBeGreaterThan(0);
  });
});
