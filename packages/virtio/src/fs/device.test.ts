// virtio-fs (virtio 1.2 §5.11) driven the way Linux's fs/fuse/virtio_fs.c drives it, by the
// TypeScript guest driver over a guest-memory buffer: the tag in config space, a FUSE session on
// the request queue (INIT, create, write, read, readdir) with the request in device-readable and the
// reply in device-writable buffers, FORGET on the hiprio queue (no reply), and what a hostile
// driver can do (no reply room, a short request, a reply buffer too small, a reset mid-session).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HIGH_RAM, LOW_RAM, makeGuest } from '../../test/support/setup';
import type { DriverQueue, GuestDriver, Segment } from '../../test/support/guest-driver';
import { direntsOf, entryOf, fhOf, req, type Reply } from '../../test/fuse/requests';
import { TRANSPORT_FEATURES } from '../features';
import * as R from '../mmio/registers';
import { MmioTransport } from '../mmio/transport';
import { DEVICE_ID_FS, FS_CONFIG, FsDevice } from './device';
import * as E from './errno';
import * as L from './layout';

let dir: string;
let device: FsDevice;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'virtio-fs-'));
  fs.writeFileSync(path.join(dir, 'hello'), 'hello from the host');
});

afterEach(() => {
  expect(device.server.stats.internalErrors).toBe(0);
  device.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function fsGuest(options: { queueSize?: number; maxWrite?: number } = {}) {
  device = new FsDevice({ tag: 'share', root: dir, ...options });
  const g = makeGuest(device);
  expect(g.driver.init(TRANSPORT_FEATURES, DEVICE_ID_FS)).toBe(TRANSPORT_FEATURES);
  const hiprio = g.driver.setupQueue(0);
  const requests = g.driver.setupQueue(1);
  g.driver.driverOk();
  return { ...g, hiprio, requests };
}

/** One FUSE request as virtio_fs.c queues it: readable request, then writable reply of `room` bytes. */
async function send(
  driver: GuestDriver,
  q: DriverQueue,
  request: Uint8Array,
  room = 4096,
  kick = () => q.kick(),
): Promise<Reply & { used: number }> {
  const inAddr = driver.place(request);
  const segs = [{ addr: inAddr, len: request.length, write: false }];
  const outAddr = room > 0 ? driver.buffer(room, 0) : 0;
  if (room > 0) segs.push({ addr: outAddr, len: room, write: true });
  q.add(segs);
  kick();
  const [u] = await q.waitUsed();
  const out = room > 0 ? driver.mem.slice(outAddr, u!.len)!.slice() : new Uint8Array(0);
  const v = new DataView(out.buffer);
  const error = out.length >= 16 ? v.getInt32(L.OUT_HEADER.fields.error, true) : 0;
  if (out.length >= 16) expect(v.getUint32(L.OUT_HEADER.fields.len, true)).toBe(u!.len);
  return {
    used: u!.len,
    bytes: out,
    errno: -error || 0,
    body: out.subarray(16),
    view: new DataView(out.buffer, Math.min(16, out.length)),
  };
}

describe('virtio-fs (virtio 1.2 §5.11)', () => {
  it('has device ID 26, a hiprio queue and one request queue, and the tag in config space', () => {
    const { driver } = fsGuest();
    const cfg = driver.readConfig(0, FS_CONFIG.size);
    expect(new TextDecoder().decode(cfg.subarray(0, 5))).toBe('share');
    expect(cfg.subarray(5, 36).every((b) => b === 0)).toBe(true);
    expect(new DataView(cfg.buffer).getUint32(FS_CONFIG.fields.num_request_queues, true)).toBe(1);
    expect(device.queueMaxSizes).toHaveLength(2);
    expect(() => new FsDevice({ tag: 'x'.repeat(37), root: dir })).toThrow(/1 to 36 bytes/);
    expect(() => new FsDevice({ tag: '', root: dir })).toThrow(/1 to 36 bytes/);
  });

  it('serves a FUSE session on the request queue: INIT, lookup, read, create, write, readdir', async () => {
    const { driver, requests, irq } = fsGuest();
    const init = await send(driver, requests, req.init(), 16 + L.INIT_OUT.size);
    expect(init.errno).toBe(0);
    expect(init.used).toBe(16 + L.INIT_OUT.size);
    expect(init.view.getUint32(L.INIT_OUT.fields.minor, true)).toBe(L.FUSE_KERNEL_MINOR_VERSION);
    expect(irq.count).toBeGreaterThan(0);
    const hello = entryOf(await send(driver, requests, req.lookup(1, 'hello')));
    const fh = fhOf(await send(driver, requests, req.open(hello.nodeid, 0)));
    const read = await send(driver, requests, req.read(hello.nodeid, fh, 0, 4096), 16 + 4096);
    expect(new TextDecoder().decode(read.body)).toBe('hello from the host');
    expect(read.used).toBe(16 + 19);
    const c = await send(driver, requests, req.create(1, 'from-guest', 0o100 | 1, 0o644));
    const made = entryOf(c);
    const w = await send(
      driver,
      requests,
      req.write(made.nodeid, fhOf(c, true), 0, new TextEncoder().encode('written by the guest')),
    );
    expect(w.view.getUint32(0, true)).toBe(20);
    expect(fs.readFileSync(path.join(dir, 'from-guest'), 'utf8')).toBe('written by the guest');
    const d = fhOf(await send(driver, requests, req.opendir(1)));
    const names = direntsOf(await send(driver, requests, req.readdir(1, d, 0, 4096, true)), true).map(
      (e) => e.name,
    );
    expect(names.sort()).toEqual(['.', '..', 'from-guest', 'hello']);
  });

  it('FORGET and BATCH_FORGET on the hiprio queue come back with used length 0', async () => {
    const { driver, requests, hiprio } = fsGuest();
    await send(driver, requests, req.init());
    const hello = entryOf(await send(driver, requests, req.lookup(1, 'hello')));
    expect(device.server.held.nodes).toBe(2);
    const f = await send(driver, hiprio, req.forget(hello.nodeid, 1), 0);
    expect(f.used).toBe(0);
    expect(device.server.held.nodes).toBe(1);
    const b = await send(driver, hiprio, req.batchForget([[99, 1]]), 0);
    expect(b.used).toBe(0);
  });

  it("cuts READ to the guest's reply buffer; a reply with no room is EIO or nothing; a short request EINVAL", async () => {
    const { driver, requests } = fsGuest();
    await send(driver, requests, req.init());
    const hello = entryOf(await send(driver, requests, req.lookup(1, 'hello')));
    const fh = fhOf(await send(driver, requests, req.open(hello.nodeid, 0)));
    const cut = await send(driver, requests, req.read(hello.nodeid, fh, 0, 4096), 16 + 5);
    expect(new TextDecoder().decode(cut.body)).toBe('hello');
    // An entry reply (144 bytes) into 40: a bare EIO header.
    const small = await send(driver, requests, req.lookup(1, 'hello'), 40);
    expect(small.used).toBe(16);
    expect(small.errno).toBe(E.EIO);
    expect(device.stats.shortReplies).toBe(1);
    // No writable part at all: nothing written back.
    expect((await send(driver, requests, req.getattr(1), 0)).used).toBe(0);
    // A request cut short of its header's len.
    const whole = req.read(hello.nodeid, fh, 0, 10);
    expect((await send(driver, requests, whole.subarray(0, 50))).errno).toBe(E.EINVAL);
    expect((await send(driver, requests, whole.subarray(0, 7))).errno).toBe(E.EINVAL);
  });

  it('a snapshot keeps the FUSE session: a new device behind a restored transport serves it on, and says what is gone', async () => {
    fs.writeFileSync(path.join(dir, 'gone'), 'deleted before the restore');
    const g = fsGuest();
    await send(g.driver, g.requests, req.init());
    const hello = entryOf(await send(g.driver, g.requests, req.lookup(1, 'hello'))).nodeid;
    const gone = entryOf(await send(g.driver, g.requests, req.lookup(1, 'gone'))).nodeid;
    const fh = fhOf(await send(g.driver, g.requests, req.open(hello, 0)));
    const transport = JSON.parse(JSON.stringify(g.transport.saveState())) as ReturnType<
      MmioTransport['saveState']
    >;
    const state = JSON.parse(JSON.stringify(device.saveState())) as unknown;
    fs.unlinkSync(path.join(dir, 'gone'));
    device.close();

    device = new FsDevice({ tag: 'share', root: dir });
    const notices: string[] = [];
    const t2 = new MmioTransport({
      device,
      memory: g.mem,
      interrupt: g.irq,
      log: (kind, line) => notices.push(`${kind}: ${line}`),
    });
    expect(device.stateFault(state)).toBeUndefined();
    expect(device.stateFault({ ...(state as object), nodes: 'no' })).toMatch(/nodes/);
    // The transport resets the device, then hands it its state, then activates it.
    expect(t2.restoreState(transport, state)).toBe(true);
    const kick = () => t2.notify(1);
    const read = await send(g.driver, g.requests, req.read(hello, fh, 0, 100), 4096, kick);
    expect(new TextDecoder().decode(read.body)).toBe('hello from the host');
    expect((await send(g.driver, g.requests, req.getattr(gone), 4096, kick)).errno).toBe(E.ESTALE);
    expect(notices).toEqual([
      expect.stringMatching(/fs-restore: .*restored 1 files and 1 open files of the guest's; 1 were gone/),
    ]);
  });

  it('a device reset ends the FUSE session: nodes and open files let go, INIT needed again', async () => {
    const g = fsGuest();
    await send(g.driver, g.requests, req.init());
    const hello = entryOf(await send(g.driver, g.requests, req.lookup(1, 'hello')));
    fhOf(await send(g.driver, g.requests, req.open(hello.nodeid, 0)));
    expect(device.server.held).toEqual({ nodes: 2, handles: 1 });
    g.driver.write32(R.MMIO_STATUS, 0); // a reset (§4.2.3.1)
    expect(device.server.held).toEqual({ nodes: 1, handles: 0 });
    expect(g.driver.init(TRANSPORT_FEATURES, DEVICE_ID_FS)).toBe(TRANSPORT_FEATURES);
    g.driver.setupQueue(0);
    const q1 = g.driver.setupQueue(1);
    g.driver.driverOk();
    expect((await send(g.driver, q1, req.getattr(1))).errno).toBe(E.EIO);
    expect((await send(g.driver, q1, req.init())).errno).toBe(0);
    expect((await send(g.driver, q1, req.getattr(1))).errno).toBe(0);
  });

  describe('READ and WRITE data straight between guest memory and the host file', () => {
    /** Guest RAM for `bytes` (or `len` fresh bytes): low RAM, or the high region at `high`. */
    function at(driver: GuestDriver, bytes: Uint8Array, high?: number): Segment {
      if (high === undefined) return { addr: driver.place(bytes, 1), len: bytes.length, write: false };
      driver.mem.write(HIGH_RAM.gpa + high, bytes);
      return { addr: HIGH_RAM.gpa + high, len: bytes.length, write: false };
    }

    /** Lays `segs` out as one chain, kicks, returns the used length. */
    async function chain(q: DriverQueue, segs: Segment[], indirect = false): Promise<number> {
      q.add(segs, { indirect });
      q.kick();
      const [u] = await q.waitUsed();
      return u!.len;
    }

    /** The writable segments' bytes, in order, `used` of them. */
    function gather(driver: GuestDriver, segs: Segment[], used: number): Uint8Array {
      const out = new Uint8Array(used);
      let done = 0;
      for (const s of segs.filter((x) => x.write)) {
        const k = Math.min(s.len, used - done);
        out.set(driver.mem.slice(s.addr, k)!, done);
        done += k;
      }
      return out;
    }

    const pattern = (n: number, seed: number) =>
      Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

    async function openFile(g: ReturnType<typeof fsGuest>, name: string) {
      await send(g.driver, g.requests, req.init());
      const c = await send(g.driver, g.requests, req.create(1, name, 2 /* O_RDWR */, 0o644));
      return { nodeid: entryOf(c).nodeid, fh: fhOf(c, true) };
    }

    it('a WRITE and a READ spanning several descriptors (both RAM regions) land right in a real host file', async () => {
      const g = fsGuest();
      const { driver, requests } = g;
      const f = await openFile(g, 'spread');
      const data = pattern(3 * 4096 + 777, 7);
      const w = req.write(f.nodeid, f.fh, 100, data);
      // The header split in two; the data starting inside the second buffer, crossing into high RAM.
      const wsegs = [
        at(driver, w.subarray(0, 30)),
        at(driver, w.subarray(30, 500)),
        at(driver, w.subarray(500, 4500), 0x100),
        at(driver, w.subarray(4500)),
      ];
      const wout = driver.buffer(16 + L.WRITE_OUT.size);
      wsegs.push({ addr: wout, len: 16 + L.WRITE_OUT.size, write: true });
      expect(await chain(requests, wsegs)).toBe(16 + L.WRITE_OUT.size);
      const wv = new DataView(driver.mem.slice(wout, 24)!.slice().buffer);
      expect(wv.getInt32(L.OUT_HEADER.fields.error, true)).toBe(0);
      expect(wv.getUint32(16, true)).toBe(data.length);
      const host = fs.readFileSync(path.join(dir, 'spread'));
      expect(host.length).toBe(100 + data.length);
      expect(Buffer.compare(host.subarray(100), data)).toBe(0);
      expect(device.stats.directWrites).toBe(1);

      // READ back into: the header and 10 data bytes in one buffer, then high RAM, then low RAM.
      const rsegs: Segment[] = [
        at(driver, req.read(f.nodeid, f.fh, 100, data.length)),
        { addr: driver.buffer(16 + 10), len: 16 + 10, write: true },
        { addr: HIGH_RAM.gpa + 0x8000, len: 3000, write: true },
        { addr: driver.buffer(data.length), len: data.length, write: true },
      ];
      const used = await chain(requests, rsegs);
      expect(used).toBe(16 + data.length);
      const reply = gather(driver, rsegs, used);
      const rv = new DataView(reply.buffer);
      expect(rv.getUint32(L.OUT_HEADER.fields.len, true)).toBe(used);
      expect(rv.getInt32(L.OUT_HEADER.fields.error, true)).toBe(0);
      expect(Buffer.compare(reply.subarray(16), data)).toBe(0);
      expect(device.stats.directReads).toBe(1);
      expect(device.stats.bytesRead).toBe(data.length);
      // A READ past the end: short, the rest of the guest's buffer untouched.
      const tail = { addr: driver.buffer(16 + 64, 0x55), len: 16 + 64, write: true };
      expect(
        await chain(requests, [at(driver, req.read(f.nodeid, f.fh, 100 + data.length - 8, 64)), tail]),
      ).toBe(16 + 8);
      expect([...driver.mem.slice(tail.addr + 16, 9)!]).toEqual([...data.subarray(-8), 0x55]);
    });

    it('more buffers than one preadv/pwritev takes (IOV_MAX): served through the copying path', async () => {
      const g = fsGuest({ queueSize: 2048 });
      const { driver, requests } = g;
      const f = await openFile(g, 'many');
      const pieces = 1100;
      const data = pattern(pieces * 8, 3);
      const w = req.write(f.nodeid, f.fh, 0, data);
      const wsegs = [at(driver, w.subarray(0, 80))];
      for (let i = 0; i < pieces; i++) wsegs.push(at(driver, data.subarray(i * 8, i * 8 + 8)));
      wsegs.push({ addr: driver.buffer(24), len: 24, write: true });
      expect(await chain(requests, wsegs, true)).toBe(24);
      expect(Buffer.compare(fs.readFileSync(path.join(dir, 'many')), data)).toBe(0);
      const rsegs: Segment[] = [at(driver, req.read(f.nodeid, f.fh, 0, data.length))];
      rsegs.push({ addr: driver.buffer(16), len: 16, write: true });
      for (let i = 0; i < pieces; i++) rsegs.push({ addr: driver.buffer(8), len: 8, write: true });
      const used = await chain(requests, rsegs, true);
      expect(used).toBe(16 + data.length);
      expect(Buffer.compare(gather(driver, rsegs, used).subarray(16), data)).toBe(0);
      expect(device.stats.directWrites).toBe(0);
      expect(device.stats.directReads).toBe(0);
    });

    it('hostile chains get an errno or used length 0, never a throw, and the device serves on', async () => {
      const g = fsGuest();
      const { driver, requests } = g;
      const f = await openFile(g, 'target');
      const data = pattern(4096, 1);
      const before = fs.readFileSync(path.join(dir, 'target')).length;
      // A reply buffer running past the end of guest RAM: the chain is refused whole (used 0).
      const r = req.read(f.nodeid, f.fh, 0, 4096);
      expect(
        await chain(requests, [at(driver, r), { addr: LOW_RAM.size - 100, len: 4096, write: true }]),
      ).toBe(0);
      // A data buffer past the end of the high region.
      const w = req.write(f.nodeid, f.fh, 0, data);
      const out = { addr: driver.buffer(24), len: 24, write: true };
      expect(
        await chain(requests, [
          at(driver, w.subarray(0, 80)),
          { addr: HIGH_RAM.gpa + HIGH_RAM.size - 8, len: 4096, write: false },
          out,
        ]),
      ).toBe(0);
      // More descriptors than the queue has (an indirect table of 200 on a queue of 128).
      const many = [at(driver, w.subarray(0, 80))];
      for (let i = 0; i < 200; i++) many.push(at(driver, data.subarray(i * 8, i * 8 + 8)));
      expect(await chain(requests, [...many, out], true)).toBe(0);
      // fuse_write_in.size claiming more than the chain carries; the header's len past the chain.
      const lying = req.write(f.nodeid, f.fh, 0, data);
      new DataView(lying.buffer).setUint32(40 + 16, 1 << 20, true);
      expect((await send(driver, requests, lying)).errno).toBe(E.EINVAL);
      const long = req.write(f.nodeid, f.fh, 0, data);
      new DataView(long.buffer).setUint32(L.IN_HEADER.fields.len, long.length + 4096, true);
      expect((await send(driver, requests, long)).errno).toBe(E.EINVAL);
      // A READ of 4 GiB - 1: cut to the reply buffer the guest gave.
      const cut = await send(driver, requests, req.read(f.nodeid, f.fh, 0, 0xffff_ffff), 16 + 100);
      expect(cut.errno).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'target')).length).toBe(before);
      expect((await send(driver, requests, req.getattr(1))).errno).toBe(0);
      expect(device.stats.directWrites).toBe(0);
    });
  });
});
