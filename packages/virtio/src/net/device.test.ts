import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FramePort } from '@vmm/net';
import { VirtioConfigError } from '../errors';
import { hasFeature } from '../features';
import type { NetBackendFactory } from './backend';
import { natBackend } from './backend';
import { NetDevice } from './device';
import * as L from './layout';
import {
  ACK,
  FIN,
  GATEWAY_IP,
  GUEST_IP,
  GUEST_MAC,
  PROTO_TCP,
  PROTO_UDP,
  PSH,
  SYN,
  arpRequest,
  dhcpDiscover,
  get16,
  get32,
  parseIp,
  tcpSegment,
} from './test-support/frames';
import { NET_FEATURES, netGuest, type Received } from './test-support/net-guest';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

function device(options: ConstructorParameters<typeof NetDevice>[0] = {}): NetDevice {
  const d = new NetDevice(options);
  open.push(d);
  return d;
}

/**
 * A backend that records the guest's frames (and whether their checksum came partial) and lets
 * the test send frames to the guest. `takesOffloads`: as the NAT does.
 */
function testBackend(takesOffloads = false) {
  const sent: Uint8Array[] = [];
  const partial: boolean[] = [];
  let port: FramePort | undefined;
  const factory: NetBackendFactory = (p) => {
    port = p;
    return {
      takesOffloads,
      input: (f, n, valid) => {
        sent.push(f.slice(0, n));
        partial.push(valid === true);
      },
      flush: () => {},
      close: () => {},
    };
  };
  return { factory, sent, partial, toGuest: (f: Uint8Array) => port!.send(f, f.length) };
}

function frameOf(n: number, len = 60): Uint8Array {
  const f = new Uint8Array(len).fill(n);
  f.set(GUEST_MAC, 0);
  return f;
}

/**
 * A connection's first half through the NAT: ARP for the gateway, then a SYN (MSS 1460) from
 * `gport` to the host's `sport`. Returns the gateway's MAC and the SYN-ACK as it arrived.
 */
async function synThroughNat(g: ReturnType<typeof netGuest>, sport: number, gport: number, seq: number) {
  await g.send(arpRequest(GATEWAY_IP));
  const gwMac = (await g.recv()).frame.slice(22, 28);
  await g.send(tcpSegment(gwMac, GATEWAY_IP, gport, sport, seq, 0, SYN, undefined, 1460));
  return { gwMac, synAck: await g.recv() };
}

/**
 * Reads the host's TCP stream through the NAT until its FIN, acknowledging each frame in order
 * (and the FIN); `each` sees every TCP frame with its data. Returns the bytes and the next ack.
 */
async function readUntilFin(
  g: ReturnType<typeof netGuest>,
  to: { gwMac: Uint8Array; gport: number; sport: number; seq: number; ack: number },
  each: (r: Received, p: NonNullable<ReturnType<typeof parseIp>>, data: Uint8Array) => void = () => {},
): Promise<{ data: Buffer; ack: number }> {
  const received: Buffer[] = [];
  let { ack } = to;
  for (let fin = false; !fin;) {
    const r = await g.recv();
    const p = parseIp(r.frame)!;
    if (p.proto !== PROTO_TCP) continue;
    expect(p.checksumsValid).toBe(true);
    const hl = (r.frame[p.l4 + 12]! >>> 4) * 4;
    const data = r.frame.subarray(p.l4 + hl, p.l4 + p.l4Len);
    each(r, p, data);
    const s = get32(r.frame, p.l4 + 4);
    if (s === ack && data.length > 0) {
      received.push(Buffer.from(data));
      ack = (ack + data.length) >>> 0;
    }
    if (r.frame[p.l4 + 13]! & FIN && s + data.length === ack) {
      ack = (ack + 1) >>> 0;
      fin = true;
    }
    await g.send(tcpSegment(to.gwMac, GATEWAY_IP, to.gport, to.sport, to.seq, ack, ACK));
  }
  return { data: Buffer.concat(received), ack };
}

describe('virtio-net (virtio 1.2 §5.1)', () => {
  it('offers MAC, STATUS, MRG_RXBUF, CSUM, GUEST_CSUM; config holds mac, link up, mtu', () => {
    const dev = device({ backend: testBackend().factory, mtu: 9000 });
    const g = netGuest(dev, { features: NET_FEATURES | (1n << L.VIRTIO_NET_F_MTU) });
    for (const f of [L.VIRTIO_NET_F_MAC, L.VIRTIO_NET_F_MRG_RXBUF, L.VIRTIO_NET_F_CSUM, L.VIRTIO_NET_F_MTU])
      expect(hasFeature(g.negotiated, f)).toBe(true);
    expect([...g.driver.readConfig(L.CONFIG_MAC, 6)]).toEqual([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    const c = g.driver.readConfig(0, L.CONFIG_SIZE);
    expect(c[L.CONFIG_STATUS]! & L.VIRTIO_NET_S_LINK_UP).toBe(1);
    expect(c[L.CONFIG_MTU]! | (c[L.CONFIG_MTU + 1]! << 8)).toBe(9000);
    expect(hasFeature(device({ backend: testBackend().factory }).features, L.VIRTIO_NET_F_MTU)).toBe(false);
  });

  it('offers GUEST_TSO4 and HOST_TSO4 only with a backend that works with offloads (the NAT)', () => {
    const nat = device({ backend: natBackend() });
    expect(hasFeature(nat.features, L.VIRTIO_NET_F_GUEST_TSO4)).toBe(true);
    expect(hasFeature(nat.features, L.VIRTIO_NET_F_HOST_TSO4)).toBe(true);
    const relay = device({ backend: testBackend().factory });
    expect(hasFeature(relay.features, L.VIRTIO_NET_F_GUEST_TSO4)).toBe(false);
    expect(hasFeature(relay.features, L.VIRTIO_NET_F_HOST_TSO4)).toBe(false);
  });

  it('TSO both ways through the NAT: a 40 KB guest super-segment arrives whole, host data comes as GSO super-segments', async () => {
    const fromHost = Buffer.alloc(300_000);
    for (let i = 0; i < fromHost.length; i++) fromHost[i] = (i * 13 + 5) & 0xff;
    const fromGuest = Buffer.alloc(40_000);
    for (let i = 0; i < fromGuest.length; i++) fromGuest[i] = (i * 11 + 1) & 0xff;
    let got = Buffer.alloc(0);
    let hostSide: net.Socket | undefined;
    const server = net.createServer((s) => {
      hostSide = s;
      s.on('data', (d) => (got = Buffer.concat([got, d])));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => server.close() });
    const sport = (server.address() as net.AddressInfo).port;

    const dev = device({ backend: natBackend({ hostLoopback: true }) });
    const tso = (1n << L.VIRTIO_NET_F_GUEST_TSO4) | (1n << L.VIRTIO_NET_F_HOST_TSO4);
    const g = netGuest(dev, { features: NET_FEATURES | tso, rxBufSize: 4096 });
    expect(hasFeature(g.negotiated, L.VIRTIO_NET_F_HOST_TSO4)).toBe(true);
    g.postRx(200);
    const gport = 40124;
    let seq = 7000;
    const { gwMac, synAck } = await synThroughNat(g, sport, gport, seq);
    expect(synAck.flags).toBe(L.VIRTIO_NET_HDR_F_NEEDS_CSUM); // partial, completed by recv()
    expect(parseIp(synAck.frame)!.checksumsValid).toBe(true);
    const ack = (get32(synAck.frame, parseIp(synAck.frame)!.l4 + 4) + 1) >>> 0;
    seq++;
    await g.send(tcpSegment(gwMac, GATEWAY_IP, gport, sport, seq, ack, ACK));

    // One 40 KB super-segment, as Linux's TSO hands it over: gso_size 1460, checksum partial.
    await g.send(tcpSegment(gwMac, GATEWAY_IP, gport, sport, seq, ack, ACK | PSH, fromGuest), (h) => {
      h.setUint8(L.HDR_GSO_TYPE, L.VIRTIO_NET_HDR_GSO_TCPV4);
      h.setUint16(L.HDR_GSO_SIZE, 1460, true);
      h.setUint16(L.HDR_HDR_LEN, 14 + 20 + 20, true);
    });
    seq += fromGuest.length;
    for (let t = 0; t < 100 && got.length < fromGuest.length; t++)
      await new Promise((r) => setTimeout(r, 20));
    expect(got.equals(fromGuest)).toBe(true);

    hostSide!.end(fromHost);
    let superSegments = 0;
    let frames = 0;
    const down = await readUntilFin(g, { gwMac, gport, sport, seq, ack }, (r, p, data) => {
      frames++;
      if (data.length > 1460) {
        superSegments++;
        expect(r.gsoType).toBe(L.VIRTIO_NET_HDR_GSO_TCPV4);
        expect(r.gsoSize).toBe(1460);
        expect(r.hdrLen).toBe(data.byteOffset - r.frame.byteOffset);
      } else expect(r.gsoType).toBe(L.VIRTIO_NET_HDR_GSO_NONE);
    });
    expect(down.data.equals(fromHost)).toBe(true);
    expect(superSegments).toBeGreaterThan(0);
    expect(frames).toBeLessThan(300_000 / 1460 / 4); // far fewer frames than 1460-byte segments
    expect(dev.stats.txDropped).toBe(0);
    expect(dev.stats.rxDropped).toBe(0);
  });

  it('rejects bad options with a VirtioConfigError', () => {
    expect(() => new NetDevice({ mtu: 100 })).toThrow(VirtioConfigError);
    expect(() => new NetDevice({ queueSize: 100 })).toThrow(VirtioConfigError);
    expect(() => new NetDevice({ mac: new Uint8Array([1, 2, 3, 4, 5, 6]) })).toThrow(VirtioConfigError);
  });

  it('ARP and DHCP through the device to the real NAT: OFFER merged over small buffers, checksums valid', async () => {
    const dev = device({ backend: natBackend() });
    const g = netGuest(dev, { rxBufSize: 128, rxBufs: 0 });
    g.postRx(32);
    await g.send(arpRequest(GATEWAY_IP));
    const arp = await g.recv();
    expect(get16(arp.frame, 12)).toBe(0x0806);
    expect(get16(arp.frame, 14 + 6)).toBe(2); // ARP reply
    expect(get32(arp.frame, 14 + 14)).toBe(GATEWAY_IP);
    expect([...arp.frame.subarray(0, 6)]).toEqual([...GUEST_MAC]);

    // DISCOVER with a partial UDP checksum: the NAT checks UDP checksums, so it only answers if the
    // device completed it.
    await g.send(dhcpDiscover(0x1234abcd));
    const offer = await g.recv();
    expect(offer.numBuffers).toBeGreaterThan(1); // 12 + ~340 bytes over 128-byte buffers
    expect(offer.flags).toBe(L.VIRTIO_NET_HDR_F_DATA_VALID);
    const ip = parseIp(offer.frame)!;
    expect(ip.proto).toBe(PROTO_UDP);
    expect(ip.checksumsValid).toBe(true);
    const bootp = ip.l4 + 8;
    expect(offer.frame[bootp]).toBe(2); // BOOTREPLY
    expect(get32(offer.frame, bootp + 4)).toBe(0x1234abcd);
    expect(get32(offer.frame, bootp + 16)).toBe(GUEST_IP); // yiaddr
    expect(dev.stats).toMatchObject({ txFrames: 2, txDropped: 0, rxFrames: 2, rxDropped: 0 });
  });

  it('a TCP connection from the guest through the NAT to a real 127.0.0.1 server: bytes both ways', async () => {
    const fromHost = Buffer.alloc(6000);
    for (let i = 0; i < fromHost.length; i++) fromHost[i] = (i * 7 + 3) & 0xff;
    const fromGuest = Buffer.from('guest says hello through virtio-net '.repeat(40));
    let got = Buffer.alloc(0);
    const server = net.createServer((s) => {
      s.on('data', (d) => (got = Buffer.concat([got, d])));
      s.on('error', () => {});
      s.end(fromHost);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => server.close() });
    const sport = (server.address() as net.AddressInfo).port;

    const dev = device({ backend: natBackend({ hostLoopback: true }) });
    const g = netGuest(dev, { rxBufSize: 1024 });
    g.postRx(64);
    const gport = 40123;
    let seq = 1000;
    const { gwMac, synAck: reply } = await synThroughNat(g, sport, gport, seq);
    const synAck = reply.frame;
    const ip = parseIp(synAck)!;
    expect(ip.checksumsValid).toBe(true);
    expect(synAck[ip.l4 + 13]! & (SYN | ACK)).toBe(SYN | ACK);
    let ack = (get32(synAck, ip.l4 + 4) + 1) >>> 0;
    seq++;
    // data from the guest, in two segments
    for (let o = 0; o < fromGuest.length; o += 1000) {
      const chunk = fromGuest.subarray(o, o + 1000);
      await g.send(tcpSegment(gwMac, GATEWAY_IP, gport, sport, seq, ack, ACK | PSH, chunk));
      seq += chunk.length;
    }
    // read everything the host sends, acknowledging in order, until its FIN
    let merged = 0;
    const down = await readUntilFin(g, { gwMac, gport, sport, seq, ack }, (r) => {
      if (r.numBuffers > 1) merged++;
    });
    ack = down.ack;
    await g.send(tcpSegment(gwMac, GATEWAY_IP, gport, sport, seq, ack, ACK | FIN));
    expect(down.data.equals(fromHost)).toBe(true);
    expect(merged).toBeGreaterThan(0); // full-size segments (1514 + 12) span two 1024-byte buffers
    for (let t = 0; t < 100 && got.length < fromGuest.length; t++)
      await new Promise((r) => setTimeout(r, 20));
    expect(got.equals(fromGuest)).toBe(true);
    expect(dev.stats.txDropped).toBe(0);
  });

  it('rx with no buffers posted: frames wait in a bounded backlog, the rest are dropped and counted', async () => {
    const be = testBackend();
    const dev = device({ backend: be.factory, rxBacklog: 4 });
    be.toGuest(frameOf(99)); // before DRIVER_OK: dropped
    expect(dev.stats.rxDropped).toBe(1);
    const g = netGuest(dev);
    for (let i = 0; i < 10; i++) expect(() => be.toGuest(frameOf(i))).not.toThrow();
    expect(dev.stats.rxDropped).toBe(7);
    g.postRx(8);
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await g.recv()).frame[20]);
    expect(got).toEqual([0, 1, 2, 3]);
    // buffers are left: a new frame goes straight in
    be.toGuest(frameOf(42));
    expect((await g.recv()).frame[20]).toBe(42);
    expect(dev.stats).toMatchObject({ rxFrames: 5, rxDropped: 7 });
  });

  it('without MRG_RXBUF a frame must fit one buffer: too big is dropped, the buffer kept', async () => {
    const be = testBackend();
    const dev = device({ backend: be.factory });
    const features = NET_FEATURES & ~(1n << L.VIRTIO_NET_F_MRG_RXBUF);
    const g = netGuest(dev, { features, rxBufSize: 200 });
    g.postRx(1);
    be.toGuest(frameOf(1, 500));
    expect(dev.stats.rxDropped).toBe(1);
    be.toGuest(frameOf(2, 100));
    const r = await g.recv();
    expect(r.numBuffers).toBe(1);
    expect(r.frame.length).toBe(100);
    expect(r.frame[20]).toBe(2);
  });

  it('transmit: completes NEEDS_CSUM, drops GSO, bad offsets, runts and oversize frames, and says why', async () => {
    const be = testBackend();
    const dev = device({ backend: be.factory });
    const lines: string[] = [];
    const g = netGuest(dev, { log: (kind, line) => lines.push(`${kind} ${line}`) });
    const seg = tcpSegment(GUEST_MAC, GATEWAY_IP, 1, 2, 3, 4, ACK, new Uint8Array(33).fill(9));
    await g.send(seg);
    expect(be.sent.length).toBe(1);
    expect(parseIp(be.sent[0]!)!.checksumsValid).toBe(true);
    await g.send(seg, (h) => h.setUint8(L.HDR_GSO_TYPE, 1));
    await g.send(seg, (h) => h.setUint16(L.HDR_CSUM_START, 0xfff0, true));
    await g.send(seg, (h) => h.setUint16(L.HDR_CSUM_OFFSET, seg.frame.length, true));
    await g.send(new Uint8Array(10));
    await g.send(new Uint8Array(1500 + L.ETH_OVERHEAD + 1));
    expect(be.sent.length).toBe(1);
    expect(dev.stats).toMatchObject({ txFrames: 1, txDropped: 5 });
    // a header-only chain and an empty chain
    g.txq.add([{ addr: g.driver.buffer(4), len: 4, write: false }]);
    g.txq.add([{ addr: g.driver.buffer(4), len: 4, write: true }]);
    g.txq.kick();
    expect(dev.stats.txDropped).toBe(7);
    // Each drop is said to the transport's sink (which the monitor limits to a line per kind per 10 s).
    expect(lines, lines.join('\n')).toHaveLength(7);
    expect(
      lines.every((l) => l.startsWith('net-tx-dropped virtio device 1: dropped a')),
      lines.join('\n'),
    ).toBe(true);
    expect(lines.filter((l) => /GSO type 1, past the MTU or an offload not negotiated/.test(l))).toHaveLength(
      1,
    );
    expect(lines.filter((l) => /checksum offset is past/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => /not an Ethernet frame this link takes/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => /short of the 12-byte virtio-net header/.test(l))).toHaveLength(2);
  });

  it('transmit with HOST_TSO4 to a backend that takes offloads: partial checksums and TCPV4 super-segments pass as they are', async () => {
    const be = testBackend(true);
    const dev = device({ backend: be.factory });
    const g = netGuest(dev, { features: NET_FEATURES | (1n << L.VIRTIO_NET_F_HOST_TSO4) });
    const seg = tcpSegment(GUEST_MAC, GATEWAY_IP, 1, 2, 3, 4, ACK, new Uint8Array(60_000).fill(7));
    const partialSum = get16(seg.frame, seg.csumStart + seg.csumOffset);
    const gso = (type: number) => (h: DataView) => {
      h.setUint8(L.HDR_GSO_TYPE, type);
      h.setUint16(L.HDR_GSO_SIZE, 1460, true);
      h.setUint16(L.HDR_HDR_LEN, 54, true);
    };
    await g.send(seg, gso(L.VIRTIO_NET_HDR_GSO_TCPV4));
    expect(be.sent).toHaveLength(1);
    expect(be.partial[0]).toBe(true);
    expect(be.sent[0]!.length).toBe(seg.frame.length);
    expect(get16(be.sent[0]!, seg.csumStart + seg.csumOffset)).toBe(partialSum); // not completed
    await g.send(seg, gso(L.VIRTIO_NET_HDR_GSO_TCPV4 | 0x80)); // ECN: not offered
    await g.send(seg, gso(4)); // TCPV6: not offered
    await g.send(seg); // over the MTU without GSO
    await g.send(new Uint8Array(L.TSO_MAX_FRAME + 1), gso(L.VIRTIO_NET_HDR_GSO_TCPV4));
    expect(be.sent).toHaveLength(1);
    expect(dev.stats).toMatchObject({ txFrames: 1, txDropped: 4 });
  });
});
