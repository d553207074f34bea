// Fuzz: the virtio-fs device (virtio 1.2 §5.11) behind the transport, under a hostile driver.
// FUSE requests of the opcodes the server serves, their fields near their edges, are laid into
// chains cut at random places: a request over several device-readable segments, reply room over
// several device-writable ones, segments at the ends of guest RAM or past them, on the rings, on
// each other (a reply written over its own request), in an indirect table; some requests are
// mutated once laid. READ and WRITE data go by preadv/pwritev to host addresses worked out from
// these segments (chain-io.ts), the place where a missed bound would write outside guest RAM.
// Nothing may throw, the device must not be parked, the server must count no internal error,
// and nothing beside the share may change on the host. Each guest's seed is printed;
// FUZZ_SEED=<seed> makes the first guest replay it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { HIGH_RAM, LOW_RAM, makeGuest } from '../../test/support/setup';
import type { DriverQueue, Segment } from '../../test/support/guest-driver';
import { entryOf, fhOf, req } from '../../test/fuse/requests';
import { TRANSPORT_FEATURES } from '../features';
import * as R from '../mmio/registers';
import { FsDevice } from './device';
import { fuzzSeed, xorshift32 } from '../../test/support/fuzz-seed';

const FUZZ_MS = 1500;
/** Requests the fuzz serves at least (past FUZZ_MS on a loaded host, up to MAX_FUZZ_MS): the
 *  coverage the checks below rely on is a count of requests, not of milliseconds. */
const MIN_REQUESTS = 1500;
const MAX_FUZZ_MS = 20_000;
const STEPS = 120;

/** One stream of numbers per guest, with the picks the requests are made of. */
function rng(seed: number) {
  const next = xorshift32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
  return { next, pick, below: (n: number) => next() % n };
}

type Rng = ReturnType<typeof rng>;

/** The host tree under `dir` as "path size" lines (what must not change outside the share). */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${path.relative(dir, p)} ${fs.lstatSync(p).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

/** A request of a random opcode, its ids, offsets, sizes and names from the edges. */
function randomRequest(r: Rng, nodes: readonly bigint[], fhs: readonly number[]): Uint8Array {
  const node = r.pick([...nodes, 1n, 0n, 2n ** 53n, 0xffff_ffff_ffff_ffffn, BigInt(r.next())]);
  const fh = r.pick([...fhs, 0, r.next(), 0xffff_ffff]);
  const offset = r.pick<number | bigint>([0, 4096, r.below(1 << 20), 2n ** 62n, 0xffff_ffff_ffff_ffffn]);
  const size = r.pick([0, 1, 4096, 131_072, 1 << 20, r.below(300_000), 0xffff_ffff]);
  const name = r.pick(['a', `f${r.below(8)}`, 'd', '..', '.', '', 'x'.repeat(300), 'a/b', 'ok\u00e9']);
  const data = new Uint8Array(r.pick([0, 1, 4096, 65_536, r.below(200_000)])).fill(0x5a);
  if (nodes.length > 0 && r.below(5) < 2) {
    // Most of the raw-address path: READ and WRITE of the open file, near its start.
    const at = r.below(1 << 16);
    return r.below(2) === 0
      ? req.read(nodes[0]!, fhs[0]!, at, r.pick([1, 512, 4096, 65_536, r.below(200_000)]))
      : req.write(nodes[0]!, fhs[0]!, at, data);
  }
  switch (r.below(22)) {
    case 0:
      return req.lookup(node, name);
    case 1:
      return req.getattr(node);
    case 2:
      return req.read(node, fh, offset, size);
    case 3:
      return req.write(node, fh, offset, data);
    case 4:
      return req.create(node, name, r.pick([0o2, 0o1, 0o1102, 0o100002]));
    case 5:
      return req.open(node, r.pick([0, 2, 0o1000, 0o40000]));
    case 6:
      return req.readdir(node, fh, offset, size, r.below(2) === 0);
    case 7:
      return req.release(node, fh, r.below(2) === 0);
    case 8:
      return req.forget(node, r.below(4));
    case 9:
      return req.mkdir(node, name);
    case 10:
      return req.unlink(node, name);
    case 11:
      return req.rename2(node, name, r.pick([...nodes, 1n]), r.pick(['b', '..', name]), r.below(8));
    case 12:
      return req.setattr(node, { size: r.pick([0, 1, 2 ** 40]), mode: r.below(0o10000), fh });
    case 13:
      return req.symlink(node, name, r.pick(['/etc/passwd', '../../outside', 'a']));
    case 14:
      return req.link(node, r.pick([...nodes, 1n]), name);
    case 15:
      return req.setxattr(node, r.pick(['user.a', 'trusted.x', '']), data.subarray(0, 70_000));
    case 16:
      return req.getxattr(node, 'user.a', size);
    case 17:
      return req.listxattr(node, size);
    case 18:
      return req.fallocate(node, fh, r.below(1 << 20), r.pick([0, 1, 1 << 20]));
    case 19:
      return req.lseek(node, fh, r.below(1 << 20), r.pick([0, 1, 2, 3, 4, 99]));
    case 20:
      return req.statfs(node);
    default:
      return req.batchForget([[node, 1]]);
  }
}

/** A guest address for a segment of `len` bytes: fresh memory mostly, else somewhere hostile. */
function segmentAt(
  r: Rng,
  alloc: (len: number) => number,
  q: DriverQueue,
  len: number,
  others: number[],
): number {
  switch (r.below(20)) {
    case 0:
      return Math.max(0, LOW_RAM.size - len + r.below(64) - 32); // at the end of low RAM, or across it
    case 1:
      return HIGH_RAM.gpa + HIGH_RAM.size - len + r.below(64) - 32;
    case 2:
      return HIGH_RAM.gpa - r.below(4096); // in the hole below high RAM
    case 3:
      return r.pick([q.desc, q.avail, q.used]); // over the rings
    case 4:
      return others.length ? r.pick(others) : 0; // over another segment of the chain
    default:
      return alloc(len);
  }
}

/** Cut `bytes` into readable segments and add reply room as writable ones; returns the chain. */
function layChain(r: Rng, g: ReturnType<typeof makeGuest>, q: DriverQueue, bytes: Uint8Array): Segment[] {
  const alloc = (len: number) => g.alloc.alloc(Math.max(len, 1), 8);
  const segs: Segment[] = [];
  const addrs: number[] = [];
  const pieces = 1 + r.below(4);
  let at = 0;
  for (let i = 0; i < pieces && at <= bytes.length; i++) {
    const end = i === pieces - 1 ? bytes.length : at + r.below(bytes.length - at + 1);
    const len = end - at;
    const addr = segmentAt(r, alloc, q, len, addrs);
    const view = g.mem.slice(addr, len);
    if (view) view.set(bytes.subarray(at, end));
    segs.push({ addr, len, write: false });
    addrs.push(addr);
    at = end;
  }
  for (let i = r.below(4); i > 0; i--) {
    const len = r.pick([0, 8, 16, 80, 4096, 65_536, 200_000, r.below(300_000)]);
    const addr = segmentAt(r, alloc, q, len, addrs);
    segs.push({ addr, len, write: true });
    addrs.push(addr);
  }
  if (r.below(10) === 0) segs.reverse(); // writable before readable: a malformed chain
  if (r.below(8) === 0) {
    // Mutate what was laid: a byte of the header (its len, opcode) or of the arguments.
    const first = g.mem.slice(segs[0]!.addr, Math.min(segs[0]!.len, 64));
    if (first && first.length > 0) first[r.below(first.length)] = r.below(256);
  }
  return segs;
}

describe('virtio-fs under a hostile driver', () => {
  it('serves or refuses every chain: no throw, no parked device, no internal error, nothing outside the share touched', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-fsfuzz-'));
    const share = path.join(base, 'share');
    const outside = path.join(base, 'outside');
    fs.mkdirSync(share);
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret'), 'not for the guest');
    fs.symlinkSync(outside, path.join(share, 'escape'));
    const outsideBefore = tree(outside);
    // What the device says (through its transport's log, as a VM's does), and the server's line
    // from before any device runs (its descriptor budget, to stderr: kept out of the output).
    const said: string[] = [];
    const log = (kind: string, line: string) => said.push(`${kind} ${line}`);
    const stderr = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const seed = fuzzSeed();
    console.log(`virtio-fs fuzz: seeds from ${seed} (FUZZ_SEED=${seed} replays the first guest)`);
    const deadline = Date.now() + FUZZ_MS;
    const lastChance = Date.now() + MAX_FUZZ_MS;
    let guests = 0;
    let chains = 0;
    const served = { requests: 0, errors: 0, directReads: 0, directWrites: 0, shortReplies: 0 };
    try {
      while (Date.now() < deadline || (served.requests < MIN_REQUESTS && Date.now() < lastChance)) {
        const guestSeed = (seed + guests++) >>> 0;
        const replay = `guest ${guests}: FUZZ_SEED=${guestSeed} replays it`;
        const r = rng(guestSeed);
        const device = new FsDevice({ tag: 'share', root: share, maxWrite: 128 * 1024 });
        const g = makeGuest(device, { maxChainBytes: 1 << 20, log });
        g.driver.init(TRANSPORT_FEATURES | device.features);
        const hiprio = g.driver.setupQueue(0, 64);
        const requests = g.driver.setupQueue(1, 1 << (4 + r.below(4)));
        g.driver.driverOk();
        // A session as Linux opens one, and a file held open, so that ids and handles are real.
        const nodes: bigint[] = [];
        const fhs: number[] = [];
        const send = async (bytes: Uint8Array) => {
          const out = g.driver.buffer(4096, 0);
          requests.add([
            { addr: g.driver.place(bytes), len: bytes.length, write: false },
            { addr: out, len: 4096, write: true },
          ]);
          requests.kick();
          const [u] = await requests.waitUsed();
          const b = g.mem.slice(out, u!.len)!.slice();
          return { bytes: b, errno: 0, body: b.subarray(16), view: new DataView(b.buffer, 16), used: u!.len };
        };
        await send(req.init());
        const made = await send(req.create(1n, `f${r.below(4)}`, 0o2));
        if (made.used > 16 + 128) {
          nodes.push(BigInt(entryOf(made).nodeid));
          fhs.push(fhOf(made, true));
        }
        const mark = g.alloc.mark();
        for (let step = 0; step < STEPS; step++) {
          const q = r.below(6) === 0 ? hiprio : requests;
          const segs = layChain(r, g, q, randomRequest(r, nodes, fhs));
          try {
            q.add(segs, { indirect: r.below(6) === 0 });
          } catch {
            break; // the ring is full of chains the device kept: this guest is done
          }
          chains++;
          if (r.below(3) !== 0) q.kick();
          if (r.below(4) === 0) await new Promise((res) => setImmediate(res));
          while (q.popUsed());
          if (r.below(30) === 0) {
            const v = new Uint8Array(4);
            new DataView(v.buffer).setUint32(0, r.next(), true);
            g.transport.mmioWrite(r.pick([R.MMIO_QUEUE_NOTIFY, R.MMIO_INTERRUPT_ACK, R.MMIO_QUEUE_SEL]), v);
          }
          if (g.alloc.mark() > LOW_RAM.size - (4 << 20)) g.alloc.release(mark);
        }
        requests.kick();
        await new Promise((res) => setTimeout(res, 2));
        expect(g.transport.lastDeviceError, replay).toBeUndefined();
        expect(device.server.stats.internalErrors, replay).toBe(0);
        expect(g.driver.read32(R.MMIO_MAGIC_VALUE), replay).toBe(R.MMIO_MAGIC);
        for (const k of Object.keys(served) as (keyof typeof served)[]) served[k] += device.stats[k] ?? 0;
        device.close();
      }
    } finally {
      console.log(
        `virtio-fs fuzz: ${guests} guests, ${chains} chains, seeds ${seed} to ${(seed + guests - 1) >>> 0}; ` +
          JSON.stringify(served),
      );
      const outsideAfter = tree(outside);
      const top = fs.readdirSync(base).sort();
      fs.rmSync(base, { recursive: true, force: true });
      expect(outsideAfter).toEqual(outsideBefore);
      expect(top).toEqual(['outside', 'share']);
    }
    // What the chains reached: requests served and refused, and READ/WRITE data moved straight
    // between a file and the chain's segments (the raw-address path).
    expect(served.requests).toBeGreaterThan(1000);
    expect(served.errors).toBeGreaterThan(0);
    expect(served.directReads).toBeGreaterThan(0);
    expect(served.directWrites).toBeGreaterThan(0);
    // A reply the guest left no room for is said (rate-limited), not only counted.
    stderr.mockRestore();
    expect(served.shortReplies).toBeGreaterThan(0);
    expect(
      said.some((l) =>
        /^fs-short-reply virtio device \d+: the guest gave \d+ bytes for a \d+-byte reply/.test(l),
      ),
    ).toBe(true);
    expect(said.filter((l) => l.startsWith('fs-internal'))).toEqual([]);
  }, 60_000);
});
