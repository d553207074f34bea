// Firecracker's hybrid vsock socket over the real device model, driven by the TypeScript guest of
// @vmm/virtio's tests (a Linux-like virtio_transport over real rings): a host program's CONNECT
// reaches a guest listener; a guest connection to host port P reaches the Unix listener PATH_P,
// connected before the guest is answered, so a missing one is a plain RST; refusals close or
// reset; the socket file is 0600 and a live one is not taken over.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VsockDevice } from '@vmm/virtio/vsock';
import { VsockGuest, until, type GuestSocket } from '../../../virtio/test/support/vsock-guest';
import { VsockUnixMuxer } from './unix-muxer';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-vsock-mux-'));
  const device = new VsockDevice({ guestCid: 3 });
  const guest = new VsockGuest(device);
  guest.start();
  const muxer = new VsockUnixMuxer(device, path.join(dir, 'v.sock'));
  cleanups.push(async () => {
    muxer.close();
    await guest.stop();
    device.close();
    await guest.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, device, guest, muxer };
}

/**
 * How a guest connect() ended, as text: 'established', or its error. (Never the socket itself in
 * a failed expectation: printing it would print the guest's whole memory.)
 */
function outcome(connecting: Promise<unknown>): Promise<string> {
  return connecting.then(
    () => 'established',
    (e: Error) => e.message,
  );
}

/** Connect to `socket`, write `hello`, and collect everything read until the socket closes. */
function client(socket: string, hello: string) {
  const c = net.connect(socket);
  c.write(hello);
  let text = '';
  c.on('data', (d: Buffer) => (text += d.toString('latin1')));
  const closed = new Promise<void>((r) => c.on('close', () => r()));
  return { c, read: () => text, closed };
}

describe("Firecracker's hybrid vsock on a Unix socket", () => {
  it('CONNECT <port> reaches the guest listener: OK <host port>, then bytes both ways', async () => {
    const { guest, muxer } = setup();
    await muxer.start();
    expect(fs.statSync(muxer.path).mode & 0o777).toBe(0o600);
    const accepted: { s: GuestSocket }[] = [];
    guest.listen(52, (s) => accepted.push({ s }));
    const { c, read } = client(muxer.path, 'CONNECT 52\nearly bytes');
    await until(() => /^OK \d+\n/.test(read()), 5000, 'the OK line');
    expect(Number(/^OK (\d+)/.exec(read())![1])).toBeGreaterThanOrEqual(0x4000_0000);
    await until(() => accepted.length === 1, 5000, 'the guest accepting');
    const s = accepted[0]!.s;
    // Bytes sent with the CONNECT line are not lost.
    await until(() => Buffer.from(s.received()).toString() === 'early bytes', 5000, 'the early bytes');
    c.write(' and more');
    await until(() => Buffer.from(s.received()).toString() === 'early bytes and more', 5000, 'more bytes');
    await s.write(Buffer.from('from the guest'));
    await until(() => read().endsWith('from the guest'), 5000, 'the guest data');
    c.destroy();
  });

  it('a CONNECT to a port nobody listens on, or a line that is not CONNECT, closes the client', async () => {
    const { muxer } = setup();
    await muxer.start();
    const refused = client(muxer.path, 'CONNECT 9999\n');
    await refused.closed;
    expect(refused.read()).toBe('');
    const garbage = client(muxer.path, 'HELLO there\n');
    await garbage.closed;
    expect(garbage.read()).toBe('');
  });

  it('a guest connecting to host port P reaches the listener on PATH_P, which is connected before the guest is answered', async () => {
    const { guest, muxer, device } = setup();
    await muxer.start();
    const got: string[] = [];
    let hostSideFirst = false;
    const server = net.createServer((conn) => {
      // The Unix listener has its connection while the guest still waits for its RESPONSE.
      hostSideFirst = [...guest.sockets.values()].some((s) => s.state === 'connecting');
      conn.on('data', (d: Buffer) => {
        got.push(d.toString());
        conn.write('pong');
      });
    });
    await new Promise<void>((r) => server.listen(`${muxer.path}_7000`, () => r()));
    // Not awaited: close() waits for open connections, which the muxer's own close ends.
    cleanups.push(() => void server.close());
    const s = await guest.connect(7000);
    expect(hostSideFirst).toBe(true);
    await s.write(Buffer.from('ping'));
    await until(() => got.join('') === 'ping', 5000, 'the host listener reading');
    await until(() => Buffer.from(s.received()).toString() === 'pong', 5000, 'the answer in the guest');
    expect(device.stats.connectionsOpened).toBe(1);
  });

  it('with nothing at PATH_P, or a socket file nobody listens on, the guest gets RST and never a RESPONSE', async () => {
    const { dir, guest, muxer, device } = setup();
    await muxer.start();
    // Port 7001: no file. A refused connection fails the guest's connect(): it saw RST while
    // connecting (after a RESPONSE it would be established, then reset).
    const packetsBefore = guest.stats.packetsIn;
    expect(await outcome(guest.connect(7001))).toMatch(/closed \(reset\)/);
    expect(guest.stats.packetsIn - packetsBefore).toBe(1);
    expect(guest.stats.resetsReceived).toBe(1);
    // Port 7002: a socket file whose server is gone (ECONNREFUSED).
    const stale = `${muxer.path}_7002`;
    const gone = net.createServer();
    await new Promise<void>((r) => gone.listen(stale, () => r()));
    fs.linkSync(stale, path.join(dir, 'keep'));
    await new Promise<void>((r) => gone.close(() => r()));
    fs.renameSync(path.join(dir, 'keep'), stale);
    expect(await outcome(guest.connect(7002))).toMatch(/closed \(reset\)/);
    expect(guest.stats.resetsReceived).toBe(2);
    expect(guest.stats.packetsIn - packetsBefore).toBe(2);
    expect(device.stats).toMatchObject({ connectionsOpened: 0, connectionsRefused: 2 });
    expect(device.connectionCount).toBe(0);
    // A listener that appears later is reached: nothing about a port is remembered.
    const late = net.createServer((conn) => conn.end('late'));
    await new Promise<void>((r) => late.listen(`${muxer.path}_7001`, () => r()));
    cleanups.push(() => void late.close());
    const s = await guest.connect(7001);
    await until(() => Buffer.from(s.received()).toString() === 'late', 5000, 'the late listener');
  });

  it('a live socket at the path is not taken over; a stale one is replaced', async () => {
    const { dir, device } = setup();
    const p = path.join(dir, 'busy.sock');
    const other = net.createServer();
    await new Promise<void>((r) => other.listen(p, () => r()));
    await expect(new VsockUnixMuxer(device, p).start()).rejects.toThrow(/another process listens there/);
    await new Promise<void>((r) => other.close(() => r()));
    // A socket file whose server is gone (closing a Node server removes it: make one by hand).
    const stale = path.join(dir, 'stale.sock');
    const gone = net.createServer();
    await new Promise<void>((r) => gone.listen(stale, () => r()));
    fs.linkSync(stale, `${stale}.keep`);
    await new Promise<void>((r) => gone.close(() => r()));
    fs.renameSync(`${stale}.keep`, stale);
    const m = new VsockUnixMuxer(device, stale);
    await m.start();
    m.close();
    expect(fs.existsSync(stale)).toBe(false);
  });
});
