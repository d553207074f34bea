// virtio-vsock against a hostile guest: every header field is checked (virtio 1.2 §5.10.6), bad
// chains come back with used length 0, nothing throws, every case is counted and logged, and the
// device goes on serving well-behaved connections afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import { GuestSocket, VsockGuest, until } from '../../test/support/vsock-guest';
import type { Segment } from '../../test/support/guest-driver';
import { VsockDevice, type VsockDeviceOptions, type VsockDeviceStats } from './device';
import * as L from './layout';
import type { VsockStream } from './stream';
import { PacketHeader } from './packet';

const CID = 77;
const live: { guest: VsockGuest; device: VsockDevice }[] = [];

function boot(
  opts: Partial<VsockDeviceOptions> = {},
  guestOpts: ConstructorParameters<typeof VsockGuest>[1] = {},
) {
  const lines: { kind: string; line: string }[] = [];
  const device = new VsockDevice({ guestCid: CID, log: (kind, line) => lines.push({ kind, line }), ...opts });
  const guest = new VsockGuest(device, guestOpts);
  guest.start();
  live.push({ guest, device });
  return { device, guest, lines };
}

afterEach(async () => {
  for (const { guest, device } of live.splice(0)) {
    await guest.stop();
    device.close();
    await guest.shutdown();
  }
});

/** A header as a guest would write it, with `fields` overriding a well-formed RW to host port 80. */
function header(fields: Partial<Record<keyof PacketHeader, number>> = {}): Uint8Array {
  const h = new PacketHeader().set(CID, 1000, L.VMADDR_CID_HOST, 80, L.VIRTIO_VSOCK_OP_RW, 0, 0, 65536, 0);
  Object.assign(h, fields);
  return h.encode().slice();
}

/** A tx chain: the header (and payload) in one readable descriptor. */
function packet(guest: VsockGuest, hdr: Uint8Array, payload = new Uint8Array(0)): Segment[] {
  const bytes = new Uint8Array(hdr.length + payload.length);
  bytes.set(hdr);
  bytes.set(payload, hdr.length);
  return [{ addr: guest.driver.place(bytes), len: bytes.length, write: false }];
}

/** After the hostile part: a normal connection still works. */
async function stillServes(device: VsockDevice, guest: VsockGuest, port: number): Promise<void> {
  const streams: VsockStream[] = [];
  device.listen(port, (s) => streams.push(s));
  const g = await guest.connect(port);
  await g.write(Buffer.from('fine'));
  await until(() => streams.length === 1, 2000, 'listener');
  const got = await new Promise<Buffer>((resolve) => streams[0]!.once('data', resolve));
  expect(got.toString()).toBe('fine');
  expect(guest.transport.lastDeviceError).toBeUndefined();
  expect(guest.transport.needsResetCount).toBe(0);
}

describe('virtio-vsock under a hostile guest (§5.10.6)', () => {
  it('stats is a plain record of counters', () => {
    const stats: Readonly<Record<string, number>> = new VsockDevice({ guestCid: 3 }).stats;
    const typed: VsockDeviceStats = new VsockDevice({ guestCid: 3 }).stats;
    expect(Object.values(stats).every((v) => v === 0)).toBe(true);
    expect(Object.keys(typed)).toContain('malformedChains');
  });

  it('drops packets not from the guest CID to CID 2, without an answer', async () => {
    const { device, guest, lines } = boot();
    device.listen(80, () => {});
    const cases = [
      { srcCidLo: 99 },
      { srcCidHi: 1 }, // the guest's CID in the low half, junk in the high half
      { dstCidLo: 3 },
      { dstCidLo: 1 }, // VMADDR_CID_LOCAL
      { dstCidHi: 0xffffffff },
    ];
    for (const c of cases) {
      expect(guest.rawTx(packet(guest, header({ ...c, op: L.VIRTIO_VSOCK_OP_REQUEST })))).toBe(0);
    }
    expect(device.stats.badAddress).toBe(cases.length);
    expect(device.stats.droppedPackets).toBe(cases.length);
    expect(device.stats.connectionsOpened).toBe(0);
    expect(device.stats.resetsSent).toBe(0);
    expect(lines.some((l) => l.kind === 'vsock-dropped' && /from CID 99/.test(l.line))).toBe(true);
    await stillServes(device, guest, 81);
  });

  it('answers a non-stream type with RST echoing the type (never an RST to an RST)', async () => {
    const { device, guest } = boot();
    device.listen(80, () => {});
    for (const type of [0, L.VIRTIO_VSOCK_TYPE_SEQPACKET, 0xffff]) {
      expect(guest.rawTx(packet(guest, header({ type, op: L.VIRTIO_VSOCK_OP_REQUEST })))).toBe(0);
    }
    guest.rawTx(packet(guest, header({ type: 2, op: L.VIRTIO_VSOCK_OP_RST })));
    await until(() => guest.stats.foreignTypeResets === 3, 2000, 'three RSTs');
    expect(device.stats.badType).toBe(4);
    expect(device.stats.resetsSent).toBe(3);
    expect(device.stats.connectionsOpened).toBe(0);
    await stillServes(device, guest, 81);
  });

  it('returns malformed chains with used length 0: short header, len not the chain, over 64 KiB, writable only', async () => {
    const { device, guest, lines } = boot();
    device.listen(80, () => {});
    const payload = new Uint8Array(100);
    const used: (number | undefined)[] = [];
    // Shorter than a header: 0, 1 and 43 bytes.
    for (const n of [1, 20, 43])
      used.push(guest.rawTx([{ addr: guest.driver.buffer(n), len: n, write: false }]));
    // len larger than what follows the header, smaller, and over the 64 KiB cap (with that many bytes).
    used.push(guest.rawTx(packet(guest, header({ len: 101 }), payload)));
    used.push(guest.rawTx(packet(guest, header({ len: 99 }), payload)));
    used.push(guest.rawTx(packet(guest, header({ len: 0xffffffff }), payload)));
    const big = new Uint8Array(L.MAX_PKT_PAYLOAD + 1);
    used.push(guest.rawTx(packet(guest, header({ len: big.length }), big)));
    // Only device-writable descriptors on tx.
    used.push(guest.rawTx([{ addr: guest.driver.buffer(64), len: 64, write: true }]));
    used.push(
      guest.rawTx([
        { addr: guest.driver.buffer(44), len: 44, write: true },
        { addr: guest.driver.buffer(100), len: 100, write: true },
      ]),
    );
    expect(used).toEqual(used.map(() => 0));
    expect(device.stats.malformedChains).toBe(used.length);
    expect(device.stats.packetsFromGuest).toBe(0);
    expect(lines.filter((l) => l.kind === 'vsock-malformed')).toHaveLength(used.length);
    await stillServes(device, guest, 81);
  });

  it('ignores and counts unknown ops, on a connection or not', async () => {
    const { device, guest } = boot();
    const streams: VsockStream[] = [];
    device.listen(80, (s) => streams.push(s));
    const g = await guest.connect(80);
    for (const op of [L.VIRTIO_VSOCK_OP_INVALID, 8, 0x100, 0xffff]) {
      guest.rawTx(packet(guest, header({ op, srcPort: g.localPort })));
      guest.rawTx(packet(guest, header({ op, srcPort: 12345 })));
    }
    expect(device.stats.unknownOps).toBe(8);
    expect(device.stats.droppedPackets).toBe(8);
    expect(device.connectionCount).toBe(1);
    await g.write(Buffer.from('unharmed'));
    await until(() => streams.length === 1, 2000, 'listener');
    const got = await new Promise<Buffer>((resolve) => streams[0]!.once('data', resolve));
    expect(got.toString()).toBe('unharmed');
  });

  it('answers packets for connections that do not exist with RST', async () => {
    const { device, guest } = boot();
    for (const op of [
      L.VIRTIO_VSOCK_OP_RW,
      L.VIRTIO_VSOCK_OP_RESPONSE,
      L.VIRTIO_VSOCK_OP_SHUTDOWN,
      L.VIRTIO_VSOCK_OP_CREDIT_UPDATE,
      L.VIRTIO_VSOCK_OP_CREDIT_REQUEST,
    ]) {
      guest.rawTx(packet(guest, header({ op, srcPort: 2000 + op, len: 3 }), new Uint8Array(3)));
    }
    guest.rawTx(packet(guest, header({ op: L.VIRTIO_VSOCK_OP_RST })));
    await until(() => guest.stats.resetsReceived === 5, 2000, 'five RSTs');
    expect(device.stats.resetsSent).toBe(5);
    expect(device.stats.resetsReceived).toBe(1);
    expect(device.stats.bytesFromGuest).toBe(0);
  });

  it('resets a connection whose guest breaks the protocol (a REQUEST or RESPONSE on an open one)', async () => {
    const { device, guest } = boot();
    const streams: VsockStream[] = [];
    device.listen(80, (s) => streams.push(s));
    const g = await guest.connect(80);
    await until(() => streams.length === 1, 2000, 'listener');
    const err = new Promise<Error>((resolve) => streams[0]!.once('error', resolve));
    guest.rawTx(packet(guest, header({ op: L.VIRTIO_VSOCK_OP_RESPONSE, srcPort: g.localPort })));
    expect(await err).toMatchObject({ code: 'ECONNRESET' });
    await g.until(() => g.state === 'closed', 2000, 'RST');
    expect(device.connectionCount).toBe(0);
  });

  it("a guest that answers the host's connect with RESPONSE and RST at once does not end the process", async () => {
    const { device, guest } = boot();
    guest.listen(90, (s) => s.reset()); // RESPONSE, then RST, before the host's await resumes
    const stream = await device.connect(90);
    const ended = await new Promise<string>((resolve) => {
      stream.once('error', (e) => resolve(`error ${(e as { code?: string }).code}`));
      stream.once('close', () => resolve('close'));
    });
    expect(ended).toBe('error ECONNRESET');
    await stillServes(device, guest, 91);
  });

  it('takes any u32 port: guest port 2^32-1 to host port 0', async () => {
    const { device, guest } = boot();
    const streams: VsockStream[] = [];
    device.listen(0, (s) => streams.push(s));
    const s = new GuestSocket(guest, 0xffffffff, 0, 65536);
    guest.sockets.set(`${0xffffffff}:0`, s);
    guest.send(s, L.VIRTIO_VSOCK_OP_REQUEST, 0);
    await s.until(() => s.state === 'established', 2000, 'RESPONSE');
    await s.write(Buffer.from('edge'));
    await until(() => streams.length === 1, 2000, 'listener');
    expect(streams[0]!.guestPort).toBe(0xffffffff);
    expect(streams[0]!.hostPort).toBe(0);
  });

  it('a header split across descriptors and a payload in pieces is read whole', async () => {
    const { device, guest } = boot();
    const streams: VsockStream[] = [];
    device.listen(80, (s) => streams.push(s));
    const g = await guest.connect(80);
    const h = header({ srcPort: g.localPort, len: 10, bufAlloc: g.bufAlloc });
    const d = guest.driver;
    const used = guest.rawTx([
      { addr: d.place(h.subarray(0, 3)), len: 3, write: false },
      { addr: d.place(h.subarray(3, 44)), len: 41, write: false },
      { addr: d.place(Buffer.from('abcd')), len: 4, write: false },
      { addr: d.place(Buffer.from('efghij')), len: 6, write: false },
    ]);
    expect(used).toBe(0);
    await until(() => streams.length === 1, 2000, 'listener');
    const got = await new Promise<Buffer>((resolve) => streams[0]!.once('data', resolve));
    expect(got.toString()).toBe('abcdefghij');
    expect(device.stats.malformedChains).toBe(0);
  });

  it('RSTs for a flood of stray packets wait in a bounded ring while the guest posts no rx buffers', async () => {
    const { device, guest, lines } = boot({ maxConnections: 16 }, { rxBuffers: 2 });
    guest.holdRx = true;
    await guest.stop(); // nobody reposts or reads: the RSTs pile up
    for (let i = 0; i < 1000; i++) guest.rawTx(packet(guest, header({ srcPort: 10_000 + i })));
    await new Promise((r) => setImmediate(r));
    // 2 went into the rx buffers, 16 + 256 wait, the rest were dropped and counted.
    expect(device.stats.resetsSent).toBe(2);
    expect(device.stats.resetsDropped).toBe(1000 - 2 - (16 + 256));
    expect(lines.some((l) => l.kind === 'vsock-rst-dropped')).toBe(true);
    guest.start();
    guest.releaseRx();
    await until(() => device.stats.resetsSent === 2 + 16 + 256, 5000, 'the queued RSTs');
    expect(guest.transport.lastDeviceError).toBeUndefined();
  });

  it('rx buffers too small for a header are returned unused and counted; a 44-byte one still carries an RST', async () => {
    const { device, guest } = boot({}, { rxBuffers: 0 });
    await guest.stop(); // this test reads the rx ring itself
    const d = guest.driver;
    guest.rxq.add([{ addr: d.buffer(10), len: 10, write: true }]);
    guest.rxq.add([{ addr: d.buffer(64), len: 64, write: false }]);
    guest.rxq.kick();
    guest.rawTx(packet(guest, header({ srcPort: 5 }))); // for no connection: an RST is owed
    expect(device.stats.rxBadBuffers).toBe(2);
    expect(device.stats.resetsSent).toBe(0);
    const exact = d.buffer(L.HDR_SIZE, 0);
    guest.rxq.add([{ addr: exact, len: L.HDR_SIZE, write: true }]);
    guest.rxq.kick();
    expect([guest.rxq.popUsed(), guest.rxq.popUsed(), guest.rxq.popUsed()].map((u) => u?.len)).toEqual([
      0,
      0,
      L.HDR_SIZE,
    ]);
    const h = new PacketHeader();
    h.bytes.set(guest.mem.slice(exact, L.HDR_SIZE)!);
    h.decode();
    expect([h.op, h.srcCidLo, h.dstCidLo, h.srcPort, h.dstPort, h.len]).toEqual([
      L.VIRTIO_VSOCK_OP_RST,
      L.VMADDR_CID_HOST,
      CID,
      80,
      5,
      0,
    ]);
    expect(device.stats.resetsSent).toBe(1);
    expect(guest.transport.lastDeviceError).toBeUndefined();
  });
});
