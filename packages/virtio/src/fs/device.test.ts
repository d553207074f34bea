// virtio-fs (virtio 1.2 §5.11) driven the way Linux's fs/fuse/virtio_fs.c drives it, by the
// TypeScript guest driver over a guest-memory buffer: the tag in config space, a FUSE session on
// the request queue (INIT, create, write, read, readdir) with the request in device-readable and the
// reply in device-writable buffers, FORGET on the hiprio queue (no reply), and what a hostile
// driver can do (no reply room, a short request, a reply buffer too small, a reset mid-session).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeGuest } from '../../test/support/setup';
import type { DriverQueue, GuestDriver } from '../../test/support/guest-driver';
import { direntsOf, entryOf, fhOf, req, type Reply } from '../../test/fuse/requests';
import { TRANSPORT_FEATURES } from '../features';
import * as R from '../mmio/registers';
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

function fsGuest(options: { queueSize?: number } = {}) {
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
): Promise<Reply & { used: number }> {
  const inAddr = driver.place(request);
  const segs = [{ addr: inAddr, len: request.length, write: false }];
  const outAddr = room > 0 ? driver.buffer(room, 0) : 0;
  if (room > 0) segs.push({ addr: outAddr, len: room, write: true });
  q.add(segs);
  q.kick();
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
    expect(init.view.getUint32(L.INIT_OUT.fields.minor, true)).toBe(31);
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
});
