// Unit tests of the header layouts against hand-written bytes from the RFCs and real captures.
import { describe, expect, it } from 'vitest';
import { checksum } from './checksum';
import { Ipv4Header, writeIpv4Header, PROTO_TCP } from './ipv4';
import { TcpHeader, writeTcpHeader, finishTcp, SYN, seqLt } from './tcp/header';
import { DhcpMessage, writeDhcpReply, DHCPOFFER } from './dhcp';
import { parseHostForward, parseDnsUpstream, defaultConfig } from './config';
import { parseIpv4, formatIpv4 } from './addr';
import { DnsHeader } from './dns';

describe('checksum (RFC 1071)', () => {
  it('matches the RFC 1071 §3 example and is the same on odd and even offsets', () => {
    const data = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(checksum(data, 0, 8)).toBe(~0xddf2 & 0xffff);
    const big = Uint8Array.from({ length: 4001 }, (_, i) => (i * 7919) & 255);
    const odd = new Uint8Array(4002);
    odd.set(big, 1);
    expect(checksum(odd, 1, 4001)).toBe(checksum(big.slice(), 0, 4001));
  });
});

describe('IPv4 header (RFC 791)', () => {
  // a real header: 45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7
  const hdr = new Uint8Array([
    0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7,
  ]);
  it('parses a known header and rejects a wrong checksum, a short total length and fragments', () => {
    const buf = new Uint8Array(0x73);
    buf.set(hdr);
    const h = new Ipv4Header();
    expect(h.parse(buf, 0, buf.length)).toBe(true);
    expect([h.protocol, formatIpv4(h.src), formatIpv4(h.dst), h.totalLen, h.fragment]).toEqual([
      17,
      '192.168.0.1',
      '192.168.0.199',
      0x73,
      false,
    ]);
    expect(h.parse(buf, 0, 0x72)).toBe(false); // total length beyond the frame
    buf[11] = buf[11]! ^ 1;
    expect(h.parse(buf, 0, buf.length)).toBe(false);
    buf[11] = buf[11]! ^ 1;
    buf[6] = 0x20; // MF
    buf[10] = 0;
    buf[11] = 0;
    const c = checksum(buf, 0, 20);
    buf[10] = c >> 8;
    buf[11] = c & 255;
    expect(h.parse(buf, 0, buf.length)).toBe(true);
    expect(h.fragment).toBe(true);
  });
  it('writes a header that parses back', () => {
    const buf = new Uint8Array(60);
    writeIpv4Header(buf, 0, PROTO_TCP, parseIpv4('10.0.2.2'), parseIpv4('10.0.2.15'), 40);
    const h = new Ipv4Header();
    expect(h.parse(buf, 0, 60)).toBe(true);
    expect(h.totalLen).toBe(60);
  });
});

describe('TCP header (RFC 9293, RFC 7323)', () => {
  it('round-trips MSS and window scale options and caps the scale at 14', () => {
    const buf = new Uint8Array(28);
    writeTcpHeader(buf, 0, 1234, 80, 0xfffffff0, 0, SYN, 65535, 1460, 7);
    finishTcp(buf, 0, 28, 1, 2);
    const t = new TcpHeader();
    expect(t.parse(buf, 0, 28, 1, 2)).toBe(true);
    expect([t.srcPort, t.dstPort, t.seq, t.flags, t.mss, t.wscale, t.dataLen]).toEqual([
      1234,
      80,
      0xfffffff0,
      SYN,
      1460,
      7,
      0,
    ]);
    buf[27] = 20;
    finishTcp(buf, 0, 28, 1, 2);
    expect(t.parse(buf, 0, 28, 1, 2) && t.wscale).toBe(14);
    expect(t.parse(buf, 0, 28, 1, 3)).toBe(false); // pseudo-header mismatch
  });
  it('compares sequence numbers modulo 2^32', () => {
    expect(seqLt(0xfffffff0, 0x10)).toBe(true);
    expect(seqLt(0x10, 0xfffffff0)).toBe(false);
  });
});

describe('DHCP (RFC 2131/2132)', () => {
  it('parses a DISCOVER and writes an OFFER with the lease options', () => {
    const req = new Uint8Array(300);
    req.set([1, 1, 6, 0, 0xde, 0xad, 0xbe, 0xef]);
    req.set([2, 0, 0, 0, 0, 0x15], 28);
    req.set([0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255], 236);
    const m = new DhcpMessage();
    expect(m.parse(req, 0, 300)).toBe(true);
    expect([m.xid, m.messageType]).toEqual([0xdeadbeef, 1]);
    const out = new Uint8Array(600);
    const n = writeDhcpReply(out, 0, m, DHCPOFFER, {
      yiaddr: parseIpv4('10.0.2.15'),
      server: parseIpv4('10.0.2.2'),
      netmask: 0xffffff00,
      router: parseIpv4('10.0.2.2'),
      dns: parseIpv4('10.0.2.3'),
      leaseSeconds: 3600,
      mtu: 1500,
    });
    expect(n).toBeGreaterThanOrEqual(300);
    expect(formatIpv4((out[16]! << 24) | (out[17]! << 16) | (out[18]! << 8) | out[19]!)).toBe('10.0.2.15');
    expect([...out.subarray(240, 243)]).toEqual([53, 1, DHCPOFFER]);
    req[236] = 0; // bad magic cookie
    expect(m.parse(req, 0, 300)).toBe(false);
  });
});

describe('DNS header (RFC 1035 §4.1.1)', () => {
  it('tells queries from responses', () => {
    const d = new DnsHeader();
    expect(d.parse(new Uint8Array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), 0, 12) && d.isQuery()).toBe(true);
    expect(d.parse(new Uint8Array([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]), 0, 12) && d.isQuery()).toBe(
      false,
    );
    expect(d.parse(new Uint8Array(11), 0, 11)).toBe(false);
  });
});

describe('configuration', () => {
  it('parses QEMU-style host forwards and DNS upstreams, and rejects bad ones with a fix', () => {
    expect(parseHostForward('tcp:127.0.0.1:8022-:22')).toEqual({
      protocol: 'tcp',
      hostAddress: '127.0.0.1',
      hostPort: 8022,
      guestAddress: 0,
      guestPort: 22,
    });
    expect(parseHostForward('udp::5353-10.0.2.15:53').guestAddress).toBe(parseIpv4('10.0.2.15'));
    expect(() => parseHostForward('tcp:8022:22')).toThrow(
      /PROTO:\[HOSTADDR\]:HOSTPORT-\[GUESTADDR\]:GUESTPORT/,
    );
    expect(parseDnsUpstream('127.0.0.1:5353')).toEqual({ address: '127.0.0.1', port: 5353 });
    expect(() => parseDnsUpstream('localhost')).toThrow(/IP:PORT/);
    expect(() => defaultConfig({ mtu: 70000 })).toThrow(/576 to 65520/);
  });
});
