// Fuzz: every parser of guest data, and the whole NAT input path, against random, truncated,
// oversized and mutated frames for a bounded time. None may throw, read out of bounds, or leave
// state behind (no connection or flow is created by a corrupt frame: checksums catch mutations).
import { describe, expect, it } from 'vitest';
import { ArpPacket } from './arp';
import { Ipv4Header } from './ipv4';
import { IcmpHeader } from './icmp';
import { UdpHeader } from './udp';
import { TcpHeader } from './tcp/header';
import { DhcpMessage } from './dhcp';
import { DnsHeader } from './dns';
import { etherType } from './ethernet';
import { NatStack } from './stack';
import { CapturePort } from './test-support/capture-port';
import { arpRequest, DNS, GATEWAY, icmpEcho, tcp, udp, GUEST } from './test-support/guest-frames';

const MS = 1500;

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const seeds = (): Uint8Array[] => [
  arpRequest(GATEWAY),
  icmpEcho(GATEWAY, 1, 1, new Uint8Array(56)),
  udp(
    GUEST,
    DNS,
    5353,
    53,
    new Uint8Array([1, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 102, 111, 111, 0, 0, 1, 0, 1]),
  ),
  udp(0, 0xffffffff, 68, 67, new Uint8Array(300)),
  tcp(0x01020304, 40000, 80, 1, 0, 0x02, 65535, new Uint8Array(0), 1460, 7),
  tcp(GATEWAY, 40001, 80, 1, 0, 0x02, 65535),
];

function mutate(r: () => number, seed: Uint8Array): Uint8Array {
  const kind = Math.floor(r() * 4);
  if (kind === 0) return seed.slice(0, Math.floor(r() * seed.length)); // truncated
  if (kind === 1) {
    const big = new Uint8Array(seed.length + Math.floor(r() * 70000)); // oversized
    big.set(seed);
    for (let i = seed.length; i < big.length; i += 97) big[i] = r() * 256;
    return big;
  }
  const f = seed.slice();
  const flips = 1 + Math.floor(r() * 8);
  for (let i = 0; i < flips; i++) f[Math.floor(r() * f.length)] = Math.floor(r() * 256); // corrupt
  if (kind === 3) for (let i = 0; i < f.length; i += 1 + Math.floor(r() * 8)) f[i] = Math.floor(r() * 256);
  return f;
}

describe('fuzz', () => {
  it('header parsers never throw on random, truncated, oversized or corrupt input', () => {
    const r = rng(42);
    const parsers = [
      new ArpPacket(),
      new Ipv4Header(),
      new IcmpHeader(),
      new UdpHeader(),
      new TcpHeader(),
      new DhcpMessage(),
      new DnsHeader(),
    ];
    const base = seeds();
    const end = performance.now() + MS;
    let n = 0;
    while (performance.now() < end) {
      const f =
        r() < 0.3
          ? Uint8Array.from({ length: Math.floor(r() * 600) }, () => r() * 256)
          : mutate(r, base[n % base.length]!);
      const off = Math.floor(r() * 40) - 4;
      const len = Math.floor(r() * (f.length + 40)) - 4;
      etherType(f, len);
      for (const p of parsers) {
        if (p instanceof UdpHeader || p instanceof TcpHeader) p.parse(f, off, len, 0x0a00020f, 0x0a000202);
        else p.parse(f, off, len);
      }
      n++;
    }
    expect(n).toBeGreaterThan(1000);
  });

  it('the NAT input path drops mutated frames without throwing or leaking connections', () => {
    const port = new CapturePort();
    const stack = new NatStack(port, { dnsUpstream: { address: '127.0.0.1', port: 9 } });
    try {
      const r = rng(7);
      const base = seeds().filter((_, i) => i !== 4); // no valid SYN to a real host
      const end = performance.now() + MS;
      let n = 0;
      while (performance.now() < end) {
        const f = mutate(r, base[n % base.length]!);
        stack.input(f, Math.min(f.length, Math.floor(r() * (f.length + 10))));
        if (n % 16 === 0) stack.flush();
        port.frames.length = 0;
        n++;
      }
      const s = stack.stats();
      expect(s.framesIn).toBe(n);
      expect(s.dropped).toBeGreaterThan(0);
      expect(s.internalErrors).toBe(0);
      // a mutated frame that still checksums is astronomically rare: no state may pile up
      expect(s.tcpConnections).toBe(0);
      expect(s.udpFlows).toBeLessThanOrEqual(1);
    } finally {
      stack.close();
    }
  });
});
