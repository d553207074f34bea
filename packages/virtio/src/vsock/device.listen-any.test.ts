// listenAny(): the host answers a guest's connection request when it is ready (a socket muxer
// first connects to its Unix listener). Until then the guest sees nothing; accept() sends the
// RESPONSE, refuse() an RST, and so do a timeout and a handler that throws; a guest that gives up
// meanwhile leaves accept() with nothing to take. Driven by the TypeScript guest over real rings.
import { afterEach, describe, expect, it } from 'vitest';
import { VsockGuest, until, type GuestSocket } from '../../test/support/vsock-guest';
import { VsockDevice, type VsockDeviceOptions, type VsockRequest } from './device';

const live: { guest: VsockGuest; device: VsockDevice }[] = [];

function boot(opts: Partial<VsockDeviceOptions> = {}) {
  const device = new VsockDevice({ guestCid: 3, ...opts });
  const guest = new VsockGuest(device);
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

/** The guest socket of a connect() still in flight (the only one the guest has). */
function pendingSocket(guest: VsockGuest): GuestSocket {
  const all = [...guest.sockets.values()];
  expect(all).toHaveLength(1);
  return all[0]!;
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('virtio-vsock listenAny: accept or refuse later', () => {
  it('the guest waits (no RESPONSE, no RST) until accept(); then data flows both ways', async () => {
    const { device, guest } = boot();
    const requests: VsockRequest[] = [];
    device.listenAny((r) => requests.push(r));
    const connecting = guest.connect(7000);
    await until(() => requests.length === 1, 2000, 'the request');
    const req = requests[0]!;
    const g = pendingSocket(guest);
    expect({ hostPort: req.hostPort, guestPort: req.guestPort }).toEqual({
      hostPort: 7000,
      guestPort: g.localPort,
    });
    await sleep(50);
    expect(g.state).toBe('connecting');
    expect(guest.stats.packetsIn).toBe(0);
    expect(device.stats.connectionsOpened).toBe(0);
    const stream = req.accept()!;
    expect(stream.hostPort).toBe(7000);
    expect((await connecting) === g).toBe(true);
    expect(g.state).toBe('established');
    expect(device.stats.connectionsOpened).toBe(1);
    // A second answer changes nothing.
    expect(req.accept()).toBeUndefined();
    req.refuse();
    await g.write(Buffer.from('ping'));
    const got = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    expect(got.toString()).toBe('ping');
    stream.write('pong');
    await g.until(() => g.totalRead === 4, 2000, 'pong');
    expect(Buffer.from(g.received()).toString()).toBe('pong');
    expect(g.wasReset).toBe(false);
    expect(guest.stats.badPackets).toBe(0);
  });

  it('refuse() answers with RST only: the guest never saw a RESPONSE', async () => {
    const { device, guest } = boot();
    const requests: VsockRequest[] = [];
    device.listenAny((r) => requests.push(r));
    const connecting = outcome(guest.connect(7001));
    await until(() => requests.length === 1, 2000, 'the request');
    const g = pendingSocket(guest);
    requests[0]!.refuse();
    expect(await connecting).toMatch(/closed \(reset\)/);
    expect({ state: g.state, wasReset: g.wasReset }).toEqual({ state: 'closed', wasReset: true });
    // The guest's socket went from connecting straight to closed: its one packet was the RST.
    expect(guest.stats.packetsIn).toBe(1);
    expect(guest.stats.resetsReceived).toBe(1);
    expect(requests[0]!.accept()).toBeUndefined();
    expect(device.stats).toMatchObject({ connectionsRefused: 1, connectionsOpened: 0, resetsSent: 1 });
    expect(device.connectionCount).toBe(0);
  });

  it('a port with a listen() of its own is not asked about', async () => {
    const { device, guest } = boot();
    let asked = 0;
    device.listenAny(() => asked++);
    const streams: unknown[] = [];
    device.listen(80, (s) => streams.push(s));
    await guest.connect(80);
    await until(() => streams.length === 1, 2000, 'the listener');
    expect(asked).toBe(0);
  });

  it('a guest that gives up (RST) before the answer: accept() gets nothing, no error anywhere', async () => {
    const { device, guest } = boot();
    const requests: VsockRequest[] = [];
    device.listenAny((r) => requests.push(r));
    const connecting = guest.connect(7002, 500).catch(() => undefined);
    await until(() => requests.length === 1, 2000, 'the request');
    pendingSocket(guest).reset();
    await until(() => device.connectionCount === 0, 2000, 'the device to drop it');
    expect(requests[0]!.accept()).toBeUndefined();
    await connecting;
    expect(device.stats.connectionsOpened).toBe(0);
  });

  it('unanswered within connectTimeoutMs, or a handler that throws: RST, and the device goes on', async () => {
    const logged: string[] = [];
    const { device, guest } = boot({ connectTimeoutMs: 100, log: (_kind, line) => logged.push(line) });
    let throwNext = false;
    const requests: VsockRequest[] = [];
    device.listenAny((r) => {
      if (throwNext) throw new Error('host code failed');
      requests.push(r);
    });
    const t0 = Date.now();
    expect(await outcome(guest.connect(7003))).toMatch(/closed \(reset\)/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(requests[0]!.accept()).toBeUndefined();
    throwNext = true;
    expect(await outcome(guest.connect(7004))).toMatch(/closed \(reset\)/);
    expect(device.stats.connectionsRefused).toBe(2);
    expect(device.connectionCount).toBe(0);
    expect(logged).toEqual([
      'virtio-vsock: refused a guest connection to host port 7003: the host did not answer within 100 ms',
    ]);
  });

  it('a device reset while a request waits: accept() gets nothing; close() stops asking', async () => {
    const { device, guest } = boot();
    const requests: VsockRequest[] = [];
    const l = device.listenAny((r) => requests.push(r));
    expect(() => device.listenAny(() => {})).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    void guest.connect(7005, 300).catch(() => undefined);
    await until(() => requests.length === 1, 2000, 'the request');
    guest.reboot();
    expect(requests[0]!.accept()).toBeUndefined();
    expect(device.connectionCount).toBe(0);
    l.close();
    expect(await outcome(guest.connect(7006))).toMatch(/closed \(reset\)/);
    expect(requests).toHaveLength(1);
  });
});
