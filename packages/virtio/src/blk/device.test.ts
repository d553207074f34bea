import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DriverQueue, GuestDriver } from '../../test/support/guest-driver';
import { cachestat } from '../../test/support/cachestat';
import { makeGuest } from '../../test/support/setup';
import { BlkImageError } from '../errors';
import { TRANSPORT_FEATURES, bit } from '../features';
import { STATUS_DEVICE_NEEDS_RESET } from '../status';
import { MMIO_STATUS } from '../mmio/registers';
import { BlkDevice } from './device';
import * as L from './layout';

const SECTORS = 2048; // 1 MiB
let dir: string;
let seq = 0;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-blk-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function image(bytes: Buffer = randomBytes(SECTORS * 512)): { file: string; bytes: Buffer } {
  const file = path.join(dir, `disk${seq++}.img`);
  fs.writeFileSync(file, bytes);
  return { file, bytes };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const TMPFS_MAGIC = 0x01021994;

/** Why dirty and written-back pages of files in `d` cannot be told apart here (undefined: they can). */
function writebackInvisible(d: string): string | undefined {
  const fd = fs.openSync(d, 'r');
  const stat = cachestat(fd);
  fs.closeSync(fd);
  if (stat === null) return 'this kernel has no cachestat(2) (Linux 6.5+)';
  if (fs.statfsSync(d).type === TMPFS_MAGIC) return `${d} is on tmpfs, which has no writeback`;
  return undefined;
}

// The images live under os.tmpdir() (beforeAll): decided before any test runs.
const noWriteback = writebackInvisible(os.tmpdir());
if (noWriteback) console.warn(`SKIP (${noWriteback}): virtio-blk write-behind test`);

const ALL =
  TRANSPORT_FEATURES |
  bit(L.VIRTIO_BLK_F_SEG_MAX) |
  bit(L.VIRTIO_BLK_F_BLK_SIZE) |
  bit(L.VIRTIO_BLK_F_FLUSH) |
  bit(L.VIRTIO_BLK_F_RO) |
  bit(L.VIRTIO_BLK_F_DISCARD) |
  bit(L.VIRTIO_BLK_F_WRITE_ZEROES);

interface GuestOptions {
  readonly?: boolean;
  serial?: string;
  queueSize?: number;
  bytes?: Buffer;
  io?: 'async' | 'sync';
}

function blkGuest(opts: GuestOptions = {}) {
  const img = image(opts.bytes);
  const dev = new BlkDevice({
    path: img.file,
    readonly: opts.readonly,
    serial: opts.serial,
    queueSize: opts.queueSize,
    io: opts.io,
  });
  const g = makeGuest(dev);
  const features = g.driver.init(ALL, 2);
  expect(features).not.toBe(0n);
  const q = g.driver.setupQueue(0);
  g.driver.driverOk();
  return { ...g, dev, q, img, features };
}

/** A request laid out as Linux's virtio_blk does: header | data... | status, each its own descriptor. */
function header(d: GuestDriver, type: number, sector: number | bigint): number {
  const h = new Uint8Array(16);
  const v = new DataView(h.buffer);
  v.setUint32(0, type, true);
  v.setBigUint64(8, BigInt(sector), true);
  return d.place(h);
}

interface Req {
  head: number;
  status: number;
  data: number;
}

function submit(
  d: GuestDriver,
  q: DriverQueue,
  type: number,
  sector: number | bigint,
  data: { len: number; write: boolean; bytes?: Uint8Array } | undefined,
  opts: { indirect?: boolean } = {},
): Req {
  const h = header(d, type, sector);
  const status = d.buffer(1, 0xee);
  const segs = [{ addr: h, len: 16, write: false }];
  let dataAddr = 0;
  if (data) {
    dataAddr = data.bytes ? d.place(data.bytes) : d.buffer(data.len, 0x5a);
    segs.push({ addr: dataAddr, len: data.len, write: data.write });
  }
  segs.push({ addr: status, len: 1, write: true });
  return { head: q.add(segs, opts), status, data: dataAddr };
}

async function run(
  g: ReturnType<typeof blkGuest>,
  reqs: Req[],
): Promise<Map<number, { status: number; len: number }>> {
  g.q.kick();
  const used = await g.q.waitUsed(reqs.length);
  const out = new Map<number, { status: number; len: number }>();
  for (const u of used) {
    const r = reqs.find((x) => x.head === u.id)!;
    out.set(u.id, { status: g.mem.readU8(r.status), len: u.len });
  }
  return out;
}

async function one(g: ReturnType<typeof blkGuest>, r: Req) {
  return (await run(g, [r])).get(r.head)!;
}

// Every behaviour holds with file I/O on the libuv pool and on the calling thread (an I/O thread).
describe.each(['async', 'sync'] as const)('virtio-blk (virtio 1.2 §5.2), io: %s', (io) => {
  const guest = (opts: GuestOptions = {}) => blkGuest({ ...opts, io });

  it('describes the disk in config space: capacity, seg_max, blk_size, discard limits', () => {
    const { driver, features, dev } = guest();
    const c = new DataView(driver.readConfig(0, L.CONFIG_SIZE).buffer);
    expect(c.getBigUint64(L.CONFIG_CAPACITY, true)).toBe(BigInt(SECTORS));
    expect(c.getUint32(L.CONFIG_SEG_MAX, true)).toBe(254);
    expect(c.getUint32(L.CONFIG_BLK_SIZE, true)).toBe(512);
    expect(c.getUint32(L.CONFIG_MAX_DISCARD_SEG, true)).toBeGreaterThan(0);
    expect(c.getUint32(L.CONFIG_MAX_WRITE_ZEROES_SEG, true)).toBeGreaterThan(0);
    expect(features & bit(L.VIRTIO_BLK_F_RO)).toBe(0n);
    expect(features & bit(L.VIRTIO_BLK_F_FLUSH)).not.toBe(0n);
    dev.close();
  });

  it('IN reads sectors from the image straight into guest buffers', async () => {
    const g = guest();
    const r = submit(g.driver, g.q, L.VIRTIO_BLK_T_IN, 100, { len: 4096, write: true });
    expect(await one(g, r)).toEqual({ status: L.VIRTIO_BLK_S_OK, len: 4097 });
    expect(
      Buffer.from(g.mem.slice(r.data, 4096)!).equals(g.img.bytes.subarray(100 * 512, 100 * 512 + 4096)),
    ).toBe(true);
    g.dev.close();
  });

  it('OUT + FLUSH: the file holds exactly what the driver wrote (sha256)', async () => {
    const g = guest();
    const payload = randomBytes(256 * 1024);
    // One request with many data segments (as a scatter-gather list), then a flush.
    const h = header(g.driver, L.VIRTIO_BLK_T_OUT, 8);
    const segs = [{ addr: h, len: 16, write: false }];
    for (let off = 0; off < payload.length; off += 4096) {
      segs.push({ addr: g.driver.place(payload.subarray(off, off + 4096)), len: 4096, write: false });
    }
    const status = g.driver.buffer(1);
    segs.push({ addr: status, len: 1, write: true });
    const w = { head: g.q.add(segs, { indirect: true }), status, data: 0 };
    expect(await one(g, w)).toEqual({ status: L.VIRTIO_BLK_S_OK, len: 1 });
    const f = submit(g.driver, g.q, L.VIRTIO_BLK_T_FLUSH, 0, undefined);
    expect(await one(g, f)).toEqual({ status: L.VIRTIO_BLK_S_OK, len: 1 });
    const file = fs.readFileSync(g.img.file);
    expect(sha256(file.subarray(8 * 512, 8 * 512 + payload.length))).toBe(sha256(payload));
    expect(sha256(file.subarray(0, 8 * 512))).toBe(sha256(g.img.bytes.subarray(0, 8 * 512)));
    g.dev.close();
  });

  it('OUT with the chain split at every byte boundary of header+data', async () => {
    const g = guest();
    const expected = Buffer.from(g.img.bytes);
    const total = 16 + 512;
    const reqs: Req[] = [];
    for (let cut = 1; cut < total; cut++) {
      const sector = cut % SECTORS;
      const body = Buffer.alloc(total);
      new DataView(body.buffer, body.byteOffset).setUint32(0, L.VIRTIO_BLK_T_OUT, true);
      new DataView(body.buffer, body.byteOffset).setBigUint64(8, BigInt(sector), true);
      body.fill(cut & 0xff, 16);
      body.writeUInt16LE(cut, 16);
      body.copy(expected, sector * 512, 16);
      const a = g.driver.place(body.subarray(0, cut));
      const b = g.driver.place(body.subarray(cut));
      const status = g.driver.buffer(1);
      reqs.push({
        head: g.q.add([
          { addr: a, len: cut, write: false },
          { addr: b, len: total - cut, write: false },
          { addr: status, len: 1, write: true },
        ]),
        status,
        data: 0,
      });
      if (reqs.length === 64) {
        const res = await run(g, reqs.splice(0));
        for (const v of res.values()) expect(v).toEqual({ status: 0, len: 1 });
      }
    }
    const res = await run(g, reqs);
    for (const v of res.values()) expect(v).toEqual({ status: 0, len: 1 });
    expect(sha256(fs.readFileSync(g.img.file))).toBe(sha256(expected));
    g.dev.close();
  });

  it('IN with the writable part (data+status) split at every byte boundary, status inside a data buffer', async () => {
    const g = guest();
    const total = 512 + 1;
    for (let base = 1; base < total; base += 64) {
      const reqs: (Req & { cut: number; a: number; b: number })[] = [];
      for (let cut = base; cut < Math.min(base + 64, total); cut++) {
        const h = header(g.driver, L.VIRTIO_BLK_T_IN, cut);
        const a = g.driver.buffer(cut);
        const b = g.driver.buffer(total - cut);
        const head = g.q.add([
          { addr: h, len: 16, write: false },
          { addr: a, len: cut, write: true },
          { addr: b, len: total - cut, write: true },
        ]);
        reqs.push({ head, status: b + total - cut - 1, data: 0, cut, a, b });
      }
      const res = await run(g, reqs);
      for (const r of reqs) {
        expect(res.get(r.head)).toEqual({ status: 0, len: total });
        const got = Buffer.concat([g.mem.slice(r.a, r.cut)!, g.mem.slice(r.b, total - r.cut - 1)!]);
        expect(got.equals(g.img.bytes.subarray(r.cut * 512, r.cut * 512 + 512))).toBe(true);
      }
    }
    g.dev.close();
  });

  it('serves requests through indirect tables', async () => {
    const g = guest();
    const r = submit(g.driver, g.q, L.VIRTIO_BLK_T_IN, 5, { len: 1024, write: true }, { indirect: true });
    expect(await one(g, r)).toEqual({ status: 0, len: 1025 });
    expect(Buffer.from(g.mem.slice(r.data, 1024)!).equals(g.img.bytes.subarray(2560, 3584))).toBe(true);
    g.dev.close();
  });

  it('IOERR for requests outside the disk or not whole sectors', async () => {
    const g = guest();
    const cases = [
      submit(g.driver, g.q, L.VIRTIO_BLK_T_IN, SECTORS, { len: 512, write: true }),
      submit(g.driver, g.q, L.VIRTIO_BLK_T_IN, SECTORS - 1, { len: 1024, write: true }),
      submit(g.driver, g.q, L.VIRTIO_BLK_T_IN, 0xffff_ffff_ffff_ffffn, { len: 512, write: true }),
      submit(g.driver, g.q, L.VIRTIO_BLK_T_OUT, 2n ** 52n, { len: 512, write: false }),
      submit(g.driver, g.q, L.VIRTIO_BLK_T_IN, 0, { len: 100, write: true }),
      submit(g.driver, g.q, L.VIRTIO_BLK_T_OUT, 0, { len: 513, write: false }),
    ];
    const res = await run(g, cases);
    for (const r of cases) expect(res.get(r.head)!.status).toBe(L.VIRTIO_BLK_S_IOERR);
    // The last sector itself is fine.
    const ok = submit(g.driver, g.q, L.VIRTIO_BLK_T_IN, SECTORS - 1, { len: 512, write: true });
    expect((await one(g, ok)).status).toBe(0);
    expect(fs.readFileSync(g.img.file).equals(g.img.bytes)).toBe(true);
    g.dev.close();
  });

  it('GET_ID returns the serial, NUL-padded to 20 bytes', async () => {
    const g = guest({ serial: 'vmm-disk-0' });
    const r = submit(g.driver, g.q, L.VIRTIO_BLK_T_GET_ID, 0, { len: 20, write: true });
    expect(await one(g, r)).toEqual({ status: 0, len: 21 });
    const id = Buffer.from(g.mem.slice(r.data, 20)!);
    expect(id.toString('latin1')).toBe('vmm-disk-0'.padEnd(20, '\0'));
    g.dev.close();
  });

  it('UNSUPP for request types it does not implement', async () => {
    const g = guest();
    const rs = [10, 14, 2, 99, 0xffffffff].map((t) => submit(g.driver, g.q, t, 0, { len: 16, write: true }));
    const res = await run(g, rs);
    for (const r of rs) expect(res.get(r.head)!.status).toBe(L.VIRTIO_BLK_S_UNSUPP);
    g.dev.close();
  });

  it('WRITE_ZEROES segments are read from guest memory once: a guest that rewrites one in flight changes nothing', async () => {
    const g = guest();
    const seg = (sector: number, num: number) => {
      const b = new Uint8Array(16);
      new DataView(b.buffer).setBigUint64(0, BigInt(sector), true);
      new DataView(b.buffer).setUint32(8, num, true);
      return b;
    };
    const two = new Uint8Array(32);
    two.set(seg(16, 8), 0);
    two.set(seg(64, 8), 16);
    const z = submit(g.driver, g.q, L.VIRTIO_BLK_T_WRITE_ZEROES, 0, { len: 32, write: false, bytes: two });
    g.q.kick();
    // Checked and taken: now the guest points the second segment elsewhere (in async mode the
    // first segment's hole is still being punched on the pool when this runs).
    g.mem.write(z.data + 16, seg(100, 8));
    const [u] = await g.q.waitUsed(1);
    expect(u!.len).toBe(1);
    expect(g.mem.readU8(z.status)).toBe(L.VIRTIO_BLK_S_OK);
    const file = fs.readFileSync(g.img.file);
    expect(file.subarray(64 * 512, 72 * 512).every((b) => b === 0)).toBe(true);
    expect(file.subarray(100 * 512, 108 * 512)).toEqual(g.img.bytes.subarray(100 * 512, 108 * 512));
    expect(g.dev.inFlight).toBe(0);
  });

  it('DISCARD and WRITE_ZEROES punch holes that read back as zeros, size unchanged', async () => {
    const g = guest();
    const seg = (sector: number, num: number, flags = 0) => {
      const b = new Uint8Array(16);
      const v = new DataView(b.buffer);
      v.setBigUint64(0, BigInt(sector), true);
      v.setUint32(8, num, true);
      v.setUint32(12, flags, true);
      return b;
    };
    const blocksBefore = fs.statSync(g.img.file).blocks;
    const two = new Uint8Array(32);
    two.set(seg(16, 8), 0);
    two.set(seg(64, 3), 16);
    const d = submit(g.driver, g.q, L.VIRTIO_BLK_T_DISCARD, 0, { len: 32, write: false, bytes: two });
    const z = submit(g.driver, g.q, L.VIRTIO_BLK_T_WRITE_ZEROES, 0, {
      len: 16,
      write: false,
      bytes: seg(200, 16, L.VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
    });
    const z2 = submit(g.driver, g.q, L.VIRTIO_BLK_T_WRITE_ZEROES, 0, {
      len: 16,
      write: false,
      bytes: seg(300, 1),
    });
    // Hostile: UNMAP on a DISCARD, an unknown flag, out of range, a partial segment, no segment.
    const bad = [
      [L.VIRTIO_BLK_T_DISCARD, seg(0, 1, 1), L.VIRTIO_BLK_S_UNSUPP],
      [L.VIRTIO_BLK_T_WRITE_ZEROES, seg(0, 1, 2), L.VIRTIO_BLK_S_UNSUPP],
      [L.VIRTIO_BLK_T_WRITE_ZEROES, seg(SECTORS - 1, 2), L.VIRTIO_BLK_S_IOERR],
      [L.VIRTIO_BLK_T_DISCARD, seg(0, 1).subarray(0, 12), L.VIRTIO_BLK_S_IOERR],
    ] as const;
    const badReqs = bad.map(([t, b]) =>
      submit(g.driver, g.q, t, 0, { len: b.length, write: false, bytes: b }),
    );
    const none = submit(g.driver, g.q, L.VIRTIO_BLK_T_DISCARD, 0, undefined);
    const res = await run(g, [d, z, z2, ...badReqs, none]);
    expect(res.get(d.head)).toEqual({ status: 0, len: 1 });
    expect(res.get(z.head)).toEqual({ status: 0, len: 1 });
    expect(res.get(z2.head)).toEqual({ status: 0, len: 1 });
    bad.forEach(([, , want], i) => expect(res.get(badReqs[i]!.head)!.status).toBe(want));
    expect(res.get(none.head)!.status).toBe(L.VIRTIO_BLK_S_IOERR);
    const expected = Buffer.from(g.img.bytes);
    expected.fill(0, 16 * 512, 24 * 512);
    expected.fill(0, 64 * 512, 67 * 512);
    expected.fill(0, 200 * 512, 216 * 512);
    expected.fill(0, 300 * 512, 301 * 512);
    const file = fs.readFileSync(g.img.file);
    expect(file.length).toBe(SECTORS * 512);
    expect(sha256(file)).toBe(sha256(expected));
    // Holes, not written zeros: the file holds fewer blocks (ext4 and tmpfs both punch holes).
    expect(fs.statSync(g.img.file).blocks).toBeLessThan(blocksBefore);
    g.dev.close();
  });

  it.skipIf(noWriteback)(
    'starts the host writeback of a sequential write: its pages leave the page cache without a FLUSH',
    async () => {
      const g = guest();
      fs.fsyncSync(g.dev.image.fd); // the image as created is on disk: no dirty pages to begin with
      // The control: the same megabyte written by the host stays dirty (the kernel waits ~30 s).
      const control = fs.openSync(path.join(dir, `control${seq++}.img`), 'w+');
      fs.writeSync(control, randomBytes(SECTORS * 512));
      const w = submit(g.driver, g.q, L.VIRTIO_BLK_T_OUT, 0, { len: SECTORS * 512, write: false });
      expect(await one(g, w)).toEqual({ status: L.VIRTIO_BLK_S_OK, len: 1 });
      expect(g.dev.hostWorkStarted).toBe(1); // an I/O thread reads this to skip its busy-poll
      await vi.waitFor(() => expect(cachestat(g.dev.image.fd)).toEqual({ dirty: 0, writeback: 0 }), {
        timeout: 5000,
        interval: 20,
      });
      expect(cachestat(control)!.dirty).toBeGreaterThan(0);
      fs.closeSync(control);
      g.dev.close();
    },
  );

  it('readonly=on: offers RO, refuses OUT/DISCARD/WRITE_ZEROES with IOERR, image byte-for-byte unchanged', async () => {
    const g = guest({ readonly: true });
    expect(g.features & bit(L.VIRTIO_BLK_F_RO)).not.toBe(0n);
    expect(g.features & bit(L.VIRTIO_BLK_F_DISCARD)).toBe(0n);
    const before = sha256(fs.readFileSync(g.img.file));
    const w = submit(g.driver, g.q, L.VIRTIO_BLK_T_OUT, 0, { len: 512, write: false });
    const dz = submit(g.driver, g.q, L.VIRTIO_BLK_T_DISCARD, 0, { len: 16, write: false });
    const wz = submit(g.driver, g.q, L.VIRTIO_BLK_T_WRITE_ZEROES, 0, { len: 16, write: false });
    const f = submit(g.driver, g.q, L.VIRTIO_BLK_T_FLUSH, 0, undefined);
    const rd = submit(g.driver, g.q, L.VIRTIO_BLK_T_IN, 0, { len: 512, write: true });
    const res = await run(g, [w, dz, wz, f, rd]);
    expect(res.get(w.head)!.status).toBe(L.VIRTIO_BLK_S_IOERR);
    expect(res.get(dz.head)!.status).toBe(L.VIRTIO_BLK_S_IOERR);
    expect(res.get(wz.head)!.status).toBe(L.VIRTIO_BLK_S_IOERR);
    expect(res.get(f.head)!.status).toBe(L.VIRTIO_BLK_S_OK);
    expect(res.get(rd.head)).toEqual({ status: 0, len: 513 });
    expect(sha256(fs.readFileSync(g.img.file))).toBe(before);
    g.dev.close();
  });

  it('fails chains without a header or a status byte with used length 0', async () => {
    const g = guest();
    const h = header(g.driver, L.VIRTIO_BLK_T_IN, 0);
    const noStatus = g.q.add([{ addr: h, len: 16, write: false }]);
    const shortHeader = g.q.add([
      { addr: h, len: 8, write: false },
      { addr: g.driver.buffer(1), len: 1, write: true },
    ]);
    g.q.kick();
    const used = await g.q.waitUsed(2);
    expect(used.map((u) => u.len)).toEqual([0, 0]);
    expect(new Set(used.map((u) => u.id))).toEqual(new Set([noStatus, shortHeader]));
    g.dev.close();
  });

  it('serves a full queue of concurrent requests (indirect), round after round', async () => {
    const g = guest({ queueSize: 16 });
    for (let round = 0; round < 4; round++) {
      const rs: Req[] = [];
      for (let i = 0; i < 16; i++)
        rs.push(
          submit(
            g.driver,
            g.q,
            L.VIRTIO_BLK_T_IN,
            i * 7 + round,
            { len: 512, write: true },
            { indirect: true },
          ),
        );
      const res = await run(g, rs);
      rs.forEach((r, i) => {
        expect(res.get(r.head)).toEqual({ status: 0, len: 513 });
        const s = i * 7 + round;
        expect(
          Buffer.from(g.mem.slice(r.data, 512)!).equals(g.img.bytes.subarray(s * 512, s * 512 + 512)),
        ).toBe(true);
      });
    }
    g.dev.close();
  });

  it('drops completions after a reset, and works again after re-initialisation', async () => {
    const g = guest();
    submit(g.driver, g.q, L.VIRTIO_BLK_T_IN, 0, { len: 65536, write: true });
    g.q.kick();
    g.driver.write32(MMIO_STATUS, 0); // reset while the read is in flight
    await new Promise((r) => setTimeout(r, 50));
    // Synchronous I/O completed the read inside the kick, before the reset: nothing was in flight.
    expect(g.q.usedIdx()).toBe(io === 'sync' ? 1 : 0);
    g.driver.init(ALL);
    const q = g.driver.setupQueue(0);
    g.driver.driverOk();
    const r = submit(g.driver, q, L.VIRTIO_BLK_T_IN, 3, { len: 512, write: true });
    q.kick();
    const [u] = await q.waitUsed();
    expect(u).toEqual({ id: r.head, len: 513 });
    g.dev.close();
  });

  it('sets DEVICE_NEEDS_RESET on a broken ring and stops', async () => {
    const g = guest();
    g.q.publish(1000); // head index >= queue size
    g.q.kick();
    expect(g.driver.read32(MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET).toBeTruthy();
    expect(g.irq.count).toBe(1);
    g.dev.close();
  });

  it('rejects images that are not a whole number of sectors, with a typed error', () => {
    const { file } = image(Buffer.alloc(1000));
    let err: unknown;
    try {
      new BlkDevice({ path: file });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BlkImageError);
    expect((err as BlkImageError).code).toBe('EBLKSIZE');
    expect((err as Error).message).toContain('not a multiple of 512');
    expect(() => new BlkDevice({ path: path.join(dir, 'missing.img') })).toThrow(BlkImageError);
    expect(() => new BlkDevice({ path: dir, readonly: true })).toThrow(/not a regular file/);
    expect(() => new BlkDevice({ path: image().file, serial: 'x'.repeat(21) })).toThrow(/at most 20/);
  });
});
