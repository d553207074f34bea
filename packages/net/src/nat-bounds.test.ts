// The NAT against a hostile guest: every resource a guest can make it hold is bounded (host fds,
// buffered bytes, frames per input, time in a handshake or at window 0), every refusal is
// answered as a router would (RST, ICMP), and the outbound policy refuses what it names. Guest
// frames come from an independent encoder (test-support/guest-frames.ts) and what comes back is
// read with it too; the far ends are real host sockets.
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { NetConfig } from './config';
import { natFds } from './fd-budget';
import { parseOutboundDeny } from './policy';
import { NatStack } from './stack';
import { MAX_SEGMENTS_PER_PUMP, MIN_MSS } from './tcp/connection';
import { CapturePort } from './test-support/capture-port';
import {
  ACK,
  GATEWAY,
  RST,
  SYN,
  parseTcp,
  parseUnreachable,
  tcp,
  tcpFrame,
  udp,
  GUEST,
} from './test-support/guest-frames';
import { until } from './test-support/until';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const openFds = () => fs.readdirSync('/proc/self/fd').length;

function nat(config: Partial<NetConfig> = {}) {
  const port = new CapturePort();
  const lines: string[] = [];
  const stack = new NatStack(port, { hostLoopback: true, log: (_k, l) => lines.push(l), ...config });
  cleanups.push(() => stack.close());
  return { port, stack, lines };
}

async function server(host = '127.0.0.1') {
  const sockets: net.Socket[] = [];
  const s = net.createServer({ allowHalfOpen: true }, (c) => {
    sockets.push(c);
    c.on('error', () => {});
  });
  await new Promise<void>((r) => s.listen({ port: 0, host, backlog: 4096 }, r));
  cleanups.push(() => {
    for (const c of sockets) c.destroy();
    s.close();
  });
  return { port: (s.address() as net.AddressInfo).port, sockets };
}

/** Guest SYN to dst:dport from sport, and the NAT's SYN-ACK (after the host connect). */
async function handshake(
  stack: NatStack,
  port: CapturePort,
  dst: number,
  dport: number,
  sport: number,
  opts: { mss?: number; wscale?: number; window?: number } = {},
) {
  stack.input(
    tcpFrame({ dst, sport, dport, seq: 1000, flags: SYN, mss: opts.mss ?? 1460, wscale: opts.wscale ?? 7 }),
    100,
  );
  const synAck = parseTcp(await until(() => port.frames.find((f) => parseTcp(f)?.dport === sport)))!;
  port.take();
  expect(synAck.flags).toBe(SYN | ACK);
  const ackFor = (window = opts.window ?? 65535) =>
    tcpFrame({ dst, sport, dport, seq: 1001, ack: synAck.seq + 1, flags: ACK, window });
  return { synAck, ackFor };
}

describe('NAT caps: connections, flows, fds', () => {
  it('a SYN flood opens at most maxTcpConnections host sockets, refuses the rest with RST, and none outlives the handshake bound', async () => {
    const srv = await server();
    const fds0 = openFds();
    const used0 = natFds().used;
    const { port, stack, lines } = nat({ tcpHandshakeMs: 3000 });
    const N = 1100;
    for (let i = 0; i < N; i++)
      stack.input(tcp(GATEWAY, 10000 + i, srv.port, 1, 0, SYN, 65535, undefined, 1460), 100);
    const cap = stack.cfg.maxTcpConnections;
    expect(stack.stats().tcpConnections).toBe(cap);
    const rsts = port.frames.map(parseTcp).filter((t) => t && t.flags & RST);
    expect(rsts).toHaveLength(N - cap);
    expect(stack.stats().refusedByCap).toBe(N - cap);
    expect(lines.some((l) => /refused a TCP connection: 1024 are open/.test(l))).toBe(true);
    // The NAT's host sockets, plus the server's accepted ones in this same process.
    await until(() => (srv.sockets.length >= cap ? true : undefined), 20_000);
    expect(openFds() - fds0).toBeLessThanOrEqual(2 * cap + 16);
    expect(natFds().used - used0).toBe(cap);
    // The guest never completes them: after tcpHandshakeMs each is reset, its host socket closed.
    port.take();
    await until(() => (stack.stats().tcpConnections === 0 ? true : undefined), 20_000);
    expect(port.frames.map(parseTcp).filter((t) => t && t.flags & RST).length).toBe(cap);
    expect(natFds().used).toBe(used0);
    await until(() => (srv.sockets.every((s) => s.destroyed || s.readableEnded) ? true : undefined), 10_000);
  });

  it('UDP: at most maxUdpFlows flows (ICMP port unreachable beyond), and a full socket queue drops datagrams', async () => {
    const rx = dgram.createSocket('udp4');
    let received = 0;
    rx.on('message', () => received++);
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    cleanups.push(() => rx.close());
    const { port, stack } = nat({ maxUdpFlows: 256, udpQueueDatagrams: 64 });
    for (let i = 0; i < 300; i++)
      stack.input(udp(GUEST, GATEWAY, 20000 + i, 30000 + i, new Uint8Array(8)), 100);
    expect(stack.stats().udpFlows).toBe(256);
    const icmp = port.take().map(parseUnreachable);
    expect(icmp).toHaveLength(44);
    expect(icmp.every((u) => u?.code === 3)).toBe(true);
    // One flow, 10 000 datagrams in one burst: the host socket holds at most 64 of them.
    const flood = nat({ udpQueueDatagrams: 64 });
    const rss0 = process.memoryUsage().rss;
    const big = new Uint8Array(1400);
    const dst = rx.address().port;
    for (let i = 0; i < 10_000; i++) flood.stack.input(udp(GUEST, GATEWAY, 19999, dst, big), 2000);
    expect(flood.stack.stats().udpDropped).toBe(10_000 - 64);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 << 20);
    await until(() => (received > 0 ? true : undefined));
  });
});

describe('NAT TCP bounds', () => {
  it(`an MSS of 1 is taken as ${MIN_MSS}, and one ACK sends at most ${MAX_SEGMENTS_PER_PUMP} segments`, async () => {
    const srv = await server();
    const { port, stack } = nat();
    const { ackFor } = await handshake(stack, port, GATEWAY, srv.port, 40000, {
      mss: 1,
      wscale: 14,
      window: 0,
    });
    stack.input(ackFor(0), 100); // established, window 0: host data waits in the NAT
    await until(() => srv.sockets[0]);
    srv.sockets[0]!.write(Buffer.alloc(256 * 1024, 7));
    await until(() => (stack.stats().tcpBufferedBytes >= 256 * 1024 ? true : undefined));
    port.take();
    // One ACK opens a 1 GiB window (65535 << 14): what it sends at once is bounded.
    stack.input(ackFor(65535), 100);
    const burst = port.take().map(parseTcp);
    expect(burst.length).toBeLessThanOrEqual(MAX_SEGMENTS_PER_PUMP + 1);
    expect(burst.every((t) => t!.data.length >= MIN_MSS)).toBe(true);
    // The rest follows after the event loop turns, in segments no smaller.
    const all = await until(() => {
      const segs = port.frames.map(parseTcp);
      const bytes = segs.reduce((n, t) => n + t!.data.length, 0);
      return bytes + burst.reduce((n, t) => n + t!.data.length, 0) >= 256 * 1024 ? segs : undefined;
    });
    expect(all.slice(0, -1).every((t) => t!.data.length >= MIN_MSS)).toBe(true);
  });

  it('a window held at 0 past tcpZeroWindowMs resets the connection and closes the host socket', async () => {
    const srv = await server();
    const { port, stack, lines } = nat({ tcpZeroWindowMs: 500 });
    const { ackFor } = await handshake(stack, port, GATEWAY, srv.port, 40001, { window: 0 });
    stack.input(ackFor(0), 100);
    await until(() => srv.sockets[0]);
    srv.sockets[0]!.write(Buffer.alloc(64 * 1024, 1));
    // Zero-window probes come (RFC 9293 §3.8.6.1); a guest that keeps answering 0 is let go of.
    const rst = await until(() => port.frames.map(parseTcp).find((t) => t && t.flags & RST), 15_000);
    expect(rst!.dport).toBe(40001);
    expect(stack.stats().tcpConnections).toBe(0);
    expect(lines.some((l) => /window stayed 0/.test(l))).toBe(true);
    await until(() => (srv.sockets[0]!.destroyed || srv.sockets[0]!.readableEnded ? true : undefined));
  });

  it('bytes buffered over all connections stay within maxBufferedBytes (host reads pause)', async () => {
    const srv = await server();
    const max = 512 * 1024;
    const { port, stack } = nat({ maxBufferedBytes: max });
    for (let i = 0; i < 4; i++) {
      const { ackFor } = await handshake(stack, port, GATEWAY, srv.port, 41000 + i, { window: 0 });
      stack.input(ackFor(0), 100);
    }
    await until(() => (srv.sockets.length === 4 ? true : undefined));
    for (const s of srv.sockets) s.write(Buffer.alloc(2 << 20, 3));
    // Let the host push: the NAT takes what the bound allows, then its reads pause.
    let last = -1;
    await until(async () => {
      const now = stack.stats().tcpBufferedBytes;
      const settled = now === last;
      last = now;
      await new Promise((r) => setTimeout(r, 200));
      return settled ? true : undefined;
    }, 20_000);
    // One read of up to 64 KiB per connection may land past the bound before its socket pauses.
    expect(stack.stats().tcpBufferedBytes).toBeGreaterThan(max / 2);
    expect(stack.stats().tcpBufferedBytes).toBeLessThanOrEqual(max + 4 * 64 * 1024);
  });
});

describe('what the NAT refuses', () => {
  it('refuses 127/8, 0.0.0.0, multicast and its own subnet: RST for TCP, ICMP port unreachable for UDP', () => {
    const { port, stack } = nat();
    const refused = [0x7f000001, 0x7f0a0b0c, 0, 0xe0000001, 0xef010203, 0x0a000263];
    for (const dst of refused) {
      stack.input(tcp(dst, 42000, 80, 1, 0, SYN, 65535), 100);
      const t = parseTcp(port.take()[0]!);
      expect((t?.flags ?? 0) & RST, `TCP to 0x${dst.toString(16)}`).toBeTruthy();
      stack.input(udp(GUEST, dst, 42000, 53, new Uint8Array(4)), 100);
      expect(parseUnreachable(port.take()[0]!)?.code, `UDP to 0x${dst.toString(16)}`).toBe(3);
    }
    expect(stack.stats().tcpConnections + stack.stats().udpFlows).toBe(0);
  });

  it('deny=host refuses a host service bound to 0.0.0.0 through the host’s own address; without it the guest reaches it', async () => {
    const srv = await server('0.0.0.0');
    const hostAddress = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    expect(hostAddress, 'this host has an IPv4 address besides loopback').toBeDefined();
    const [a, b, c, d] = hostAddress!.split('.').map(Number) as [number, number, number, number];
    const ip = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    // Allowed (the default, as slirp4netns): the guest's SYN reaches the host service.
    const open = nat();
    await handshake(open.stack, open.port, ip, srv.port, 43000);
    // deny=host: refused with a RST, no host socket, one log line.
    const closed = nat({ deny: parseOutboundDeny('host') });
    closed.stack.input(tcp(ip, 43001, srv.port, 1, 0, SYN, 65535), 100);
    expect(parseTcp(closed.port.take()[0]!)!.flags & RST).toBeTruthy();
    expect(closed.stack.stats()).toMatchObject({ tcpConnections: 0, refusedByPolicy: 1 });
    expect(closed.lines.some((l) => /outbound policy deny=host/.test(l))).toBe(true);
    // And the gateway's mapping to the host's loopback, with host_loopback on.
    closed.stack.input(tcp(GATEWAY, 43002, srv.port, 1, 0, SYN, 65535), 100);
    expect(parseTcp(closed.port.take()[0]!)!.flags & RST).toBeTruthy();
  });

  it('deny=linklocal+CIDR refuses the metadata address and the networks named: RST, ICMP administratively prohibited', () => {
    const { port, stack } = nat({ deny: parseOutboundDeny('linklocal+10.9.0.0/16') });
    stack.input(tcp(0xa9fea9fe, 44000, 80, 1, 0, SYN, 65535), 100); // 169.254.169.254
    expect(parseTcp(port.take()[0]!)!.flags & RST).toBeTruthy();
    stack.input(udp(GUEST, 0x0a090101, 44001, 53, new Uint8Array(4)), 100); // 10.9.1.1
    expect(parseUnreachable(port.take()[0]!)).toEqual({ code: 13, quotedPort: 53 });
    expect(stack.stats().refusedByPolicy).toBe(2);
    expect(() => parseOutboundDeny('host+nowhere')).toThrow(/not host, linklocal or an IPv4 network/);
    expect(() => parseOutboundDeny('10.0.0.0/33')).toThrow(/not host, linklocal/);
  });
});
