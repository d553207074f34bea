// virtio-vsock model tests: the device behind the mmio transport, driven over real rings by a
// TypeScript guest that behaves as Linux's virtio_transport does (test/support/vsock-guest.ts).
// Connections both ways, data both ways, half-close and close, refusals, resets.
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtioConfigError } from '../errors';
import { TRANSPORT_FEATURES } from '../features';
import { DEVICE_ID_SOCKET } from '../status';
import { GuestSocket, VsockGuest, until } from '../../test/support/vsock-guest';
import { VsockDevice, type VsockDeviceOptions } from './device';
import { VsockError } from './errors';
import * as L from './layout';
import type { VsockStream } from './stream';

const CID = 42;
const live: { guest: VsockGuest; device: VsockDevice }[] = [];

function boot(
  opts: Partial<VsockDeviceOptions> = {},
  guestOpts: ConstructorParameters<typeof VsockGuest>[1] = {},
) {
  const device = new VsockDevice({ guestCid: CID, ...opts });
  const guest = new VsockGuest(device, guestOpts);
  guest.start();
  live.push({ guest, device });
  return { device, guest };
}

afterEach(async () => {
  for (const { guest, device } of live.splice(0)) {
    await guest.stop();
    device.close();
    await guest.shutdown();
  }
});

/** Everything a stream yields until its end (leaving its writable side open, unlike for await). */
function readAll(s: Duplex): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (c: Buffer) => parts.push(c));
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}

function errorOf(s: Duplex): Promise<Error> {
  return new Promise((resolve) => s.once('error', resolve));
}

describe('virtio-vsock device (virtio 1.2 §5.10)', () => {
  it('shows device ID 19, the STREAM feature and the guest CID in config space (§5.10.1-4)', () => {
    const { guest, device } = boot();
    expect(guest.driver.read32(0x008)).toBe(DEVICE_ID_SOCKET);
    expect(device.features & (1n << L.VIRTIO_VSOCK_F_STREAM)).not.toBe(0n);
    expect(device.features & TRANSPORT_FEATURES).toBe(TRANSPORT_FEATURES);
    const cfg = new DataView(guest.driver.readConfig(0, 8).buffer);
    expect(cfg.getBigUint64(0, true)).toBe(BigInt(CID));
    expect(guest.cid).toBe(CID);
    expect(device.queueMaxSizes).toEqual([256, 256, 256]);
  });

  it('refuses bad options with typed errors', () => {
    for (const guestCid of [0, 1, 2, 0xffffffff, 2 ** 32, 3.5, -1]) {
      expect(() => new VsockDevice({ guestCid })).toThrow(VirtioConfigError);
    }
    expect(() => new VsockDevice({ guestCid: 3 })).not.toThrow();
    expect(() => new VsockDevice({ guestCid: 0xfffffffe })).not.toThrow();
    expect(() => new VsockDevice({ guestCid: 3, queueSize: 100 })).toThrow(/power of two/);
    expect(() => new VsockDevice({ guestCid: 3, maxConnections: 0 })).toThrow(VirtioConfigError);
    expect(() => new VsockDevice({ guestCid: 3, bufAlloc: 100 })).toThrow(VirtioConfigError);
    const d = new VsockDevice({ guestCid: 3 });
    expect(() => d.listen(-1, () => {})).toThrow(VsockError);
    expect(() => d.listen(0xffffffff, () => {})).toThrow(/0\.\.4294967294/);
    d.listen(80, () => {});
    expect(() => d.listen(80, () => {})).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
  });

  it('guest → host: a listener gets a Duplex; data flows both ways on it', async () => {
    const { device, guest } = boot();
    const accepted: { stream: Duplex; guestPort: number }[] = [];
    device.listen(1234, (stream, info) => accepted.push({ stream, guestPort: info.guestPort }));
    const s = await guest.connect(1234);
    await until(() => accepted.length === 1, 2000, 'the listener');
    const { stream, guestPort } = accepted[0]!;
    expect(guestPort).toBe(s.localPort);
    expect(device.stats.connectionsOpened).toBe(1);

    await s.write(Buffer.from('hello from the guest'));
    const got = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    expect(got.toString()).toBe('hello from the guest');

    stream.write('and hello from the host');
    await s.until(() => s.totalRead === 23, 2000, 'host data');
    expect(Buffer.from(s.received()).toString()).toBe('and hello from the host');
    expect(device.stats.bytesFromGuest).toBe(20);
    expect(device.stats.bytesToGuest).toBe(23);
    expect(guest.stats.badPackets).toBe(0);
    expect(guest.stats.creditViolations).toBe(0);
  });

  it('host → guest: connect() reaches a guest listener from an ephemeral host port', async () => {
    const { device, guest } = boot();
    const accepted: GuestSocket[] = [];
    guest.listen(5000, (s) => accepted.push(s));
    const stream = await device.connect(5000);
    expect(accepted).toHaveLength(1);
    const g = accepted[0]!;
    expect(g.peerPort).toBe(stream.hostPort);
    expect(stream.guestPort).toBe(5000);
    expect(stream.hostPort).toBeGreaterThanOrEqual(0x4000_0000);

    stream.write('ping');
    await g.until(() => g.totalRead === 4, 2000, 'ping');
    await g.write(Buffer.from('pong'));
    const got = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    expect(got.toString()).toBe('pong');
    expect(Buffer.from(g.received()).toString()).toBe('ping');
  });

  it('half-close: the host end() reaches the guest as SHUTDOWN SEND; the guest can still send', async () => {
    const { device, guest } = boot();
    const streams: VsockStream[] = [];
    device.listen(7, (s) => streams.push(s));
    const g = await guest.connect(7);
    await until(() => streams.length === 1, 2000, 'listener');
    const stream = streams[0]!;
    stream.end('bye');
    await g.until(() => g.peerShutSend, 2000, 'SHUTDOWN SEND');
    expect(Buffer.from(g.received()).toString()).toBe('bye');
    expect(g.peerShutRcv).toBe(false);
    // The other direction still works.
    await g.write(Buffer.from('still here'));
    const got = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    expect(got.toString()).toBe('still here');
    expect(g.state).toBe('established');
    // Now the guest shuts its sending side: both are shut, the device resets (as Linux expects).
    const closed = once(stream, 'close');
    const ended = once(stream, 'end');
    g.shutdown(L.VIRTIO_VSOCK_SHUTDOWN_SEND);
    await ended;
    await g.until(() => g.state === 'closed', 2000, 'the RST');
    await closed;
    expect(g.wasReset).toBe(true);
    expect(device.connectionCount).toBe(0);
    expect(device.stats.resetsSent).toBe(1);
  });

  it('half-close: the guest SHUTDOWN SEND ends the host readable; the host can still write, then end()', async () => {
    const { device, guest } = boot();
    guest.listen(8, () => {});
    const stream = await device.connect(8);
    const g = [...guest.sockets.values()][0]!;
    const all = readAll(stream);
    await g.write(Buffer.from('request'));
    g.shutdown(L.VIRTIO_VSOCK_SHUTDOWN_SEND);
    expect((await all).toString()).toBe('request');
    expect(stream.writable).toBe(true);
    const closed = once(stream, 'close');
    stream.end('response');
    await g.until(() => g.state === 'closed', 2000, 'SHUTDOWN then RST');
    expect(Buffer.from(g.received()).toString()).toBe('response');
    expect(g.peerShutSend).toBe(true);
    await closed;
    expect(stream.errored).toBeNull();
    expect(device.connectionCount).toBe(0);
  });

  it("full close: the guest's close() (SHUTDOWN RCV|SEND) gets the RST Linux waits for; the host reads to EOF", async () => {
    const { device, guest } = boot();
    const streams: VsockStream[] = [];
    device.listen(9, (s) => streams.push(s));
    const g = await guest.connect(9);
    await g.write(Buffer.from('last words'));
    await g.close();
    expect(g.wasReset).toBe(true);
    await until(() => streams.length === 1, 2000, 'listener');
    const stream = streams[0]!;
    expect((await readAll(stream)).toString()).toBe('last words');
    // The guest no longer receives: a host write fails with EPIPE.
    const err = errorOf(stream);
    stream.write('too late');
    expect(await err).toMatchObject({ code: 'EPIPE' });
    expect(device.connectionCount).toBe(0);
  });

  it('host destroy() resets the connection (RST) and the pair is free for reuse', async () => {
    const { device, guest } = boot();
    const streams: VsockStream[] = [];
    device.listen(10, (s) => streams.push(s));
    const g = await guest.connect(10);
    await until(() => streams.length === 1, 2000, 'listener');
    streams[0]!.destroy();
    await g.until(() => g.state === 'closed', 2000, 'RST');
    expect(g.wasReset).toBe(true);
    expect(device.connectionCount).toBe(0);
    // Same guest port, same host port: a fresh connection (reuse-safe keying).
    const again = new GuestSocket(guest, g.localPort, 10, 65536);
    guest.sockets.set(`${g.localPort}:10`, again);
    guest.send(again, L.VIRTIO_VSOCK_OP_REQUEST, 0);
    await again.until(() => again.state === 'established', 2000, 'RESPONSE');
    await until(() => streams.length === 2, 2000, 'second accept');
    expect(streams[1]!.guestPort).toBe(g.localPort);
  });

  it('a guest RST of an open connection destroys the host stream with ECONNRESET', async () => {
    const { device, guest } = boot();
    const streams: VsockStream[] = [];
    device.listen(11, (s) => streams.push(s));
    const g = await guest.connect(11);
    await until(() => streams.length === 1, 2000, 'listener');
    const err = errorOf(streams[0]!);
    g.reset();
    expect(await err).toMatchObject({ name: 'VsockError', code: 'ECONNRESET' });
    expect(device.stats.resetsReceived).toBe(1);
    expect(device.connectionCount).toBe(0);
  });

  it('a guest REQUEST to a port nobody listens on gets RST', async () => {
    const { device, guest } = boot();
    await expect(guest.connect(4444)).rejects.toThrow(/closed \(reset\)/);
    expect(device.stats.connectionsRefused).toBe(1);
    expect(device.stats.resetsSent).toBe(1);
    // A listener that closed refuses too.
    const l = device.listen(4445, () => {});
    l.close();
    await expect(guest.connect(4445)).rejects.toThrow(/reset/);
    expect(device.stats.connectionsRefused).toBe(2);
  });

  it('connect() to a guest port with no listener rejects with ECONNREFUSED after the guest RST', async () => {
    const { device, guest } = boot();
    const err = await device.connect(6000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VsockError);
    expect(err).toMatchObject({ code: 'ECONNREFUSED' });
    expect((err as Error).message).toMatch(/port 6000/);
    expect(guest.stats.resetsSent).toBe(1);
    expect(device.connectionCount).toBe(0);
  });

  it('connect() rejects when the driver is not running, on timeout, and after close()', async () => {
    const idle = new VsockDevice({ guestCid: CID, connectTimeoutMs: 50 });
    await expect(idle.connect(1)).rejects.toMatchObject({ code: 'EVSOCKDOWN' });
    await expect(idle.connect(-5)).rejects.toMatchObject({ code: 'EVSOCKPORT' });
    // A guest that never answers (its pump is stopped): ETIMEDOUT, and the guest is sent an RST.
    const { device, guest } = boot({ connectTimeoutMs: 50 });
    await guest.stop();
    const t0 = Date.now();
    await expect(device.connect(1)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    expect(device.connectionCount).toBe(0);
    device.close();
    await expect(device.connect(1)).rejects.toMatchObject({ code: 'EVSOCKCLOSED' });
    expect(() => device.listen(1, () => {})).toThrow(expect.objectContaining({ code: 'EVSOCKCLOSED' }));
  });

  it('maxConnections: a guest REQUEST beyond it gets RST; connect() beyond it rejects', async () => {
    const { device, guest } = boot({ maxConnections: 2 });
    device.listen(20, () => {});
    await guest.connect(20);
    await guest.connect(20);
    await expect(guest.connect(20)).rejects.toThrow(/reset/);
    await expect(device.connect(1)).rejects.toMatchObject({ code: 'EVSOCKLIMIT' });
    expect(device.stats.connectionsRefused).toBe(1);
  });

  it('restored from a snapshot: a host connect waits until the guest has handled TRANSPORT_RESET, then goes through', async () => {
    const device = new VsockDevice({ guestCid: CID });
    device.restored(); // as Vmm does before the transport's state is restored
    const guest = new VsockGuest(device);
    live.push({ guest, device });
    const eventsAtAccept: number[] = [];
    guest.listen(40, () => eventsAtAccept.push(guest.events.length));
    guest.start(); // activation: the event goes out; the guest handles it in its own time
    const stream = await device.connect(40); // issued at once: held until the guest's refill kick
    expect(guest.events).toEqual([L.VIRTIO_VSOCK_EVENT_TRANSPORT_RESET]);
    expect(eventsAtAccept).toEqual([1]); // the guest had handled the reset when it accepted
    stream.write('after restore');
    stream.end();
    expect(device.stats.transportResets).toBe(1);
  });

  it('device reset destroys every stream with ECONNRESET and rejects pending connects; the next driver gets TRANSPORT_RESET', async () => {
    const { device, guest } = boot();
    const streams: VsockStream[] = [];
    device.listen(30, (s) => streams.push(s));
    guest.listen(31, () => {});
    await guest.connect(30);
    await guest.connect(30);
    const hostSide = await device.connect(31);
    await until(() => streams.length === 2, 2000, 'listeners');
    const all = [...streams, hostSide];
    const errors = all.map(errorOf);
    // A connect still waiting: the guest does not answer before the reset.
    await guest.stop();
    const pending = device.connect(31).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    guest.reboot();
    for (const e of await Promise.all(errors))
      expect(e).toMatchObject({ name: 'VsockError', code: 'ECONNRESET' });
    expect(await pending).toMatchObject({ code: 'ECONNRESET' });
    expect(device.connectionCount).toBe(0);
    // The new driver posted event buffers: it is told its transport was reset (§5.10.6.7).
    guest.start();
    await until(() => guest.events.length > 0, 2000, 'the event');
    expect(guest.events).toEqual([L.VIRTIO_VSOCK_EVENT_TRANSPORT_RESET]);
    expect(device.stats.transportResets).toBe(1);
    // And the device works again.
    const g = await guest.connect(30);
    await g.write(Buffer.from('after reboot'));
    await until(() => streams.length === 3, 2000, 'listener after reboot');
    const got = await new Promise<Buffer>((resolve) => streams[2]!.once('data', resolve));
    expect(got.toString()).toBe('after reboot');
  });

  it('keeps event buffers held (unused) when no event is owed', async () => {
    const { guest } = boot();
    await new Promise((r) => setTimeout(r, 10));
    expect(guest.evq.usedIdx()).toBe(0);
    expect(guest.events).toEqual([]);
  });

  it('answers CREDIT_REQUEST with CREDIT_UPDATE carrying buf_alloc and fwd_cnt', async () => {
    const { device, guest } = boot({ bufAlloc: 65536 });
    device.listen(40, (s) => s.resume());
    const g = await guest.connect(40);
    await g.write(new Uint8Array(1000));
    await new Promise((r) => setTimeout(r, 5));
    const before = guest.stats.creditUpdatesReceived;
    guest.send(g, L.VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0);
    await g.until(() => guest.stats.creditUpdatesReceived > before, 2000, 'CREDIT_UPDATE');
    expect(device.stats.creditRequestsReceived).toBe(1);
    expect(g.peerBufAlloc).toBe(65536);
    expect(g.peerFwdCnt).toBe(1000);
  });

  it('works with single-descriptor rx buffers and without event idx', async () => {
    const { device, guest } = boot({}, { singleRxDescriptor: true, features: (1n << 32n) | 1n });
    const streams: VsockStream[] = [];
    device.listen(50, (s) => streams.push(s));
    const g = await guest.connect(50);
    await until(() => streams.length === 1, 2000, 'listener');
    const data = Buffer.alloc(20_000, 7);
    streams[0]!.write(data);
    await g.until(() => g.totalRead === 20_000, 2000, 'data');
    expect(Buffer.from(g.received()).equals(data)).toBe(true);
  });
});
