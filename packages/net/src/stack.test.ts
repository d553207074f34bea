// Model tests of the NAT: a guest written in TypeScript sends frames into NatStack and checks the
// frames that come back, against real host sockets (a TCP server, a UDP DNS server on 127.0.0.1).
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NatStack } from './stack';
import { CapturePort } from './test-support/capture-port';
import {
  ACK,
  arpRequest,
  DNS,
  ETH_HLEN,
  FIN,
  GATEWAY,
  get16,
  get32,
  GUEST,
  GUEST_MAC,
  icmpEcho,
  parseIp as readIp,
  parseTcp,
  parseUnreachable,
  PROTO_ICMP,
  PROTO_UDP,
  PSH,
  RST,
  SYN,
  tcp,
  udp,
} from './test-support/guest-frames';
import { until } from './test-support/until';

// Frames from the NAT are read with the guest side's own reader (test-support/guest-frames.ts),
// which shares no code with the NAT's parsers; checksums are checked there.
function parseIp(f: Uint8Array) {
  const ip = readIp(f);
  expect(ip?.checksumsValid).toBe(true);
  return ip!;
}

function readTcp(f: Uint8Array) {
  const t = parseTcp(f);
  expect(t, 'a TCP segment with valid checksums').toBeDefined();
  return { ...t!, dataLen: t!.data.length };
}

let stack: NatStack | undefined;
afterEach(() => stack?.close());

describe('NatStack', () => {
  it('answers ARP for the gateway and DNS addresses only', () => {
    const port = new CapturePort();
    stack = new NatStack(port);
    stack.input(arpRequest(GATEWAY), 42);
    stack.input(arpRequest(0x0a000209), 42);
    stack.input(arpRequest(DNS), 42);
    const out = port.take();
    expect(out).toHaveLength(2);
    // RFC 826 reply: op 2, sender = the gateway's MAC and address (read byte by byte)
    const a = out[0]!.subarray(ETH_HLEN);
    expect(get16(a, 6)).toBe(2);
    expect([...a.subarray(8, 14)]).toEqual([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
    expect(get32(a, 14)).toBe(GATEWAY);
    expect([...out[0]!.subarray(0, 6)]).toEqual([...GUEST_MAC]);
  });

  it('answers ICMP echo to the gateway with the same identifier, sequence and data', () => {
    const port = new CapturePort();
    stack = new NatStack(port);
    const data = Uint8Array.from({ length: 100 }, (_, i) => i);
    stack.input(icmpEcho(GATEWAY, 0x1234, 7, data), 1000);
    const [f] = port.take();
    const ip = parseIp(f!);
    expect(ip.proto).toBe(PROTO_ICMP);
    expect(ip.src).toBe(GATEWAY);
    expect(ip.dst).toBe(GUEST);
    const off = ip.l4;
    expect(f![off]).toBe(0); // echo reply
    expect([...f!.subarray(off + 4, off + 8)]).toEqual([0x12, 0x34, 0, 7]);
    expect([...f!.subarray(off + 8)]).toEqual([...data]);
  });

  it('refuses TCP to the gateway at once (RST) and UDP with ICMP port unreachable when host loopback is off', () => {
    const port = new CapturePort();
    stack = new NatStack(port);
    stack.input(tcp(GATEWAY, 40000, 80, 1000, 0, SYN, 65535, undefined, 1460, 7), 100);
    const t = readTcp(port.take()[0]!);
    expect(t.flags & RST).toBeTruthy();
    expect(t.ack).toBe(1001);
    stack.input(udp(GUEST, GATEWAY, 5000, 9999, new Uint8Array(10)), 100);
    const [u] = port.take();
    expect(parseUnreachable(u!)).toEqual({ code: 3, quotedPort: 9999 });
  });

  it('forwards DNS queries to the upstream and answers from 10.0.2.3:53', async () => {
    const server = dgram.createSocket('udp4');
    server.on('message', (m, r) => server.send(Buffer.concat([m, Buffer.from('answer')]), r.port, r.address));
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    const port = new CapturePort();
    stack = new NatStack(port, { dnsUpstream: { address: '127.0.0.1', port: server.address().port } });
    const query = new Uint8Array([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 120, 0, 0, 1, 0, 1]);
    stack.input(udp(GUEST, DNS, 33333, 53, query), 1000);
    const f = await until(() => port.frames[0]);
    server.close();
    const ip = parseIp(f);
    expect(ip.proto).toBe(PROTO_UDP);
    expect(ip.src).toBe(DNS);
    expect(get16(f, ip.l4)).toBe(53);
    expect(get16(f, ip.l4 + 2)).toBe(33333);
    expect(
      Buffer.from(f.subarray(ip.l4 + 8, ip.l4 + ip.l4Len))
        .toString('latin1')
        .endsWith('answer'),
    ).toBe(true);
  });

  it('TCP: handshake with MSS and window scale, data both ways, retransmission on a lost segment, FIN both ways', async () => {
    let serverSide: net.Socket | undefined;
    let received = '';
    let serverEnded = false;
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      serverSide = s;
      s.on('data', (d) => (received += d.toString()));
      s.on('end', () => (serverEnded = true));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sport = (server.address() as net.AddressInfo).port;
    const port = new CapturePort();
    stack = new NatStack(port, { hostLoopback: true });
    // SYN with MSS 1000 and window scale 2
    stack.input(tcp(GATEWAY, 40000, sport, 5000, 0, SYN, 65535, undefined, 1000, 2), 100);
    const synAck = readTcp(await until(() => port.frames[0]));
    port.take();
    expect(synAck.flags).toBe(SYN | ACK);
    expect(synAck.ack).toBe(5001);
    expect(synAck.mss).toBe(1460);
    expect(synAck.wscale).toBeGreaterThanOrEqual(0);
    const iss = synAck.seq;
    // ACK + data
    stack.input(
      tcp(GATEWAY, 40000, sport, 5001, iss + 1, ACK | PSH, 1000, new TextEncoder().encode('hello')),
      100,
    );
    stack.flush();
    const ack1 = readTcp(port.take()[0]!);
    expect(ack1.ack).toBe(5006);
    await until(() => (received === 'hello' ? true : undefined));
    // host sends 2500 bytes: segments of at most the guest's MSS (1000)
    serverSide!.write(Buffer.alloc(2500, 0x61));
    const segs = await until(() => (port.frames.length >= 3 ? port.take().map(readTcp) : undefined));
    expect(segs.map((s) => s.dataLen)).toEqual([1000, 1000, 500]);
    expect(segs[0]!.seq).toBe(iss + 1);
    // acknowledge only the first: the rest comes again after the RTO (1 s initial, RFC 6298)
    stack.input(tcp(GATEWAY, 40000, sport, 5006, iss + 1001, ACK, 1000), 100);
    const again = readTcp(await until(() => port.frames.find((f) => readTcp(f).dataLen > 0), 3000));
    expect(again.seq).toBe(iss + 1001);
    port.take();
    stack.input(tcp(GATEWAY, 40000, sport, 5006, iss + 2501, ACK, 1000), 100);
    // guest half-closes; the host still sends; then the host closes
    stack.input(tcp(GATEWAY, 40000, sport, 5006, iss + 2501, ACK | FIN, 1000), 100);
    stack.flush();
    expect(readTcp(port.take()[0]!).ack).toBe(5007);
    await until(() => (serverEnded ? true : undefined));
    serverSide!.end('bye');
    const tail = await until(() => {
      const segs2 = port.frames.map(readTcp);
      return segs2.some((s) => s.flags & FIN) ? segs2 : undefined;
    });
    const data = tail.find((s) => s.dataLen === 3)!;
    expect(data.seq).toBe(iss + 2501);
    const fin = tail.find((s) => s.flags & FIN)!;
    expect(fin.seq).toBe(iss + 2504);
    stack.input(tcp(GATEWAY, 40000, sport, 5007, iss + 2505, ACK, 1000), 100);
    expect(stack.stats().tcpConnections).toBe(1); // lingers in TIME-WAIT
    server.close();
  });
});
