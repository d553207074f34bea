// Frames a guest's network stack would build, and a reader for the frames it gets back, for the
// NAT's and virtio-net's model tests: Ethernet (IEEE 802.3), ARP (RFC 826), IPv4 (RFC 791), ICMP
// (RFC 792), UDP (RFC 768), TCP (RFC 9293 §3.1, options §3.2 and RFC 7323), DHCP (RFC 2131).
// Written out byte by byte here, with its own checksum: it shares no code with the NAT's header
// writers and parsers, so a bug there cannot hide behind the same bug here. Transport checksums
// are whole, or, with `partial`, left as Linux leaves them for VIRTIO_NET_HDR_F_NEEDS_CSUM (the
// folded pseudo-header sum in the field, csum_start/csum_offset saying where).

export const GUEST_MAC = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
export const GW_MAC = new Uint8Array([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
export const BROADCAST = new Uint8Array(6).fill(0xff);
export const GUEST = 0x0a00020f;
export const GATEWAY = 0x0a000202;
export const DNS = 0x0a000203;
/** The same addresses under the names virtio-net's tests use. */
export const GUEST_IP = GUEST;
export const GATEWAY_IP = GATEWAY;
export const ETH_HLEN = 14;
export const IP_HLEN = 20;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

function sum(b: Uint8Array, off: number, len: number, acc = 0): number {
  let i = off;
  for (; i + 1 < off + len; i += 2) acc += (b[i]! << 8) | b[i + 1]!;
  if (i < off + len) acc += b[i]! << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

function pseudo(src: number, dst: number, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  put16(b, o, v >>> 16);
  put16(b, o + 2, v & 0xffff);
}

export function get16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function get32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** A partial-checksum frame: the bytes plus csum_start/csum_offset for the virtio-net header. */
export interface PartialFrame {
  frame: Uint8Array;
  csumStart: number;
  csumOffset: number;
}

/** Ethernet + IPv4 around a transport payload `l4`; its checksum (at `csumField`) whole or partial. */
function ipFrame(
  dstMac: Uint8Array,
  proto: number,
  src: number,
  dst: number,
  l4: Uint8Array,
  csumField: number,
  partial: boolean,
): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + IP_HLEN + l4.length);
  f.set(dstMac, 0);
  f.set(GUEST_MAC, 6);
  put16(f, 12, 0x0800);
  const ip = ETH_HLEN;
  f[ip] = 0x45;
  put16(f, ip + 2, IP_HLEN + l4.length);
  f[ip + 8] = 64;
  f[ip + 9] = proto;
  put32(f, ip + 12, src);
  put32(f, ip + 16, dst);
  put16(f, ip + 10, ~fold(sum(f, ip, IP_HLEN)) & 0xffff);
  f.set(l4, ip + IP_HLEN);
  const at = ip + IP_HLEN + csumField;
  put16(f, at, 0);
  const ph = proto === PROTO_ICMP ? 0 : pseudo(src, dst, proto, l4.length);
  if (partial) put16(f, at, fold(ph));
  else {
    const c = ~fold(sum(f, ip + IP_HLEN, l4.length, ph)) & 0xffff;
    // RFC 768: a UDP checksum of 0 is sent as all ones.
    put16(f, at, proto === PROTO_UDP && c === 0 ? 0xffff : c);
  }
  return f;
}

/** A UDP datagram from the guest (GUEST_IP) to `dst`, checksum partial. */
export function udpDatagram(
  dstMac: Uint8Array,
  dst: number,
  sport: number,
  dport: number,
  data: Uint8Array,
): PartialFrame {
  return {
    frame: ipFrame(dstMac, PROTO_UDP, GUEST, dst, udpPayload(sport, dport, data), 6, true),
    csumStart: ETH_HLEN + IP_HLEN,
    csumOffset: 6,
  };
}

function udpPayload(sport: number, dport: number, data: Uint8Array): Uint8Array {
  const l4 = new Uint8Array(8 + data.length);
  put16(l4, 0, sport);
  put16(l4, 2, dport);
  put16(l4, 4, l4.length);
  l4.set(data, 8);
  return l4;
}

/** A UDP datagram from `src` to `dst` with a whole checksum (the NAT's tests: src may be 0). */
export function udp(src: number, dst: number, sport: number, dport: number, data: Uint8Array): Uint8Array {
  const mac = dst === 0xffffffff ? BROADCAST : GW_MAC;
  return ipFrame(mac, PROTO_UDP, src, dst, udpPayload(sport, dport, data), 6, false);
}

/** DHCPDISCOVER from 0.0.0.0:68 to 255.255.255.255:67 (RFC 2131 §4.4.1), UDP checksum partial. */
export function dhcpDiscover(xid: number): PartialFrame {
  const bootp = new Uint8Array(300);
  bootp[0] = 1; // BOOTREQUEST
  bootp[1] = 1; // Ethernet
  bootp[2] = 6;
  put32(bootp, 4, xid);
  put16(bootp, 10, 0x8000); // broadcast reply
  bootp.set(GUEST_MAC, 28);
  put32(bootp, 236, 0x63825363);
  bootp.set([53, 1, 1, 255], 240);
  return {
    frame: ipFrame(BROADCAST, PROTO_UDP, 0, 0xffffffff, udpPayload(68, 67, bootp), 6, true),
    csumStart: ETH_HLEN + IP_HLEN,
    csumOffset: 6,
  };
}

export interface TcpFields {
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  data?: Uint8Array;
  /** > 0: the MSS option (kind 2, RFC 9293 §3.2) */
  mss?: number;
  /** >= 0: the window scale option (kind 3, RFC 7323 §2) */
  wscale?: number;
}

function tcpPayload(t: TcpFields): Uint8Array {
  const opts: number[] = [];
  if ((t.mss ?? 0) > 0) opts.push(2, 4, (t.mss! >>> 8) & 0xff, t.mss! & 0xff);
  if ((t.wscale ?? -1) >= 0) opts.push(1, 3, 3, t.wscale!); // NOP, window scale
  const hl = 20 + opts.length;
  const data = t.data ?? new Uint8Array(0);
  const l4 = new Uint8Array(hl + data.length);
  put16(l4, 0, t.sport);
  put16(l4, 2, t.dport);
  put32(l4, 4, t.seq >>> 0);
  put32(l4, 8, (t.ack ?? 0) >>> 0);
  l4[12] = (hl / 4) << 4;
  l4[13] = t.flags;
  put16(l4, 14, t.window ?? 65535);
  l4.set(opts, 20);
  l4.set(data, hl);
  return l4;
}

/** A TCP segment from the guest, checksum whole. */
export function tcpFrame(t: TcpFields): Uint8Array {
  return ipFrame(GW_MAC, PROTO_TCP, GUEST, t.dst, tcpPayload(t), 16, false);
}

/** The NAT tests' short form: tcp(dst, sport, dport, seq, ack, flags, window, data, mss, wscale). */
export function tcp(
  dst: number,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  data?: Uint8Array,
  mss = 0,
  wscale = -1,
): Uint8Array {
  return tcpFrame({ dst, sport, dport, seq, ack, flags, window, data, mss, wscale });
}

/** A TCP segment from the guest to `dst`, checksum partial; `mss` > 0 adds the MSS option. */
export function tcpSegment(
  dstMac: Uint8Array,
  dst: number,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  data: Uint8Array = new Uint8Array(0),
  mss = 0,
): PartialFrame {
  return {
    frame: ipFrame(
      dstMac,
      PROTO_TCP,
      GUEST,
      dst,
      tcpPayload({ dst, sport, dport, seq, ack, flags, data, mss }),
      16,
      true,
    ),
    csumStart: ETH_HLEN + IP_HLEN,
    csumOffset: 16,
  };
}

/** An ICMP echo request (RFC 792) from the guest to `dst`. */
export function icmpEcho(dst: number, id: number, seq: number, data: Uint8Array): Uint8Array {
  const l4 = new Uint8Array(8 + data.length);
  l4[0] = 8;
  put16(l4, 4, id);
  put16(l4, 6, seq);
  l4.set(data, 8);
  return ipFrame(GW_MAC, PROTO_ICMP, GUEST, dst, l4, 2, false);
}

/** An ARP request for `target` from the guest (RFC 826). */
export function arpRequest(target: number): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + 28);
  f.set(BROADCAST, 0);
  f.set(GUEST_MAC, 6);
  put16(f, 12, 0x0806);
  const a = ETH_HLEN;
  put16(f, a, 1);
  put16(f, a + 2, 0x0800);
  f[a + 4] = 6;
  f[a + 5] = 4;
  put16(f, a + 6, 1);
  f.set(GUEST_MAC, a + 8);
  put32(f, a + 14, GUEST);
  put32(f, a + 24, target);
  return f;
}

/**
 * What a receiver does with a NEEDS_CSUM frame it must check: the field holds the pseudo-header
 * sum; summing from csum_start and storing the complement makes the checksum whole.
 */
export function completePartial(f: Uint8Array, csumStart: number, csumOffset: number): void {
  put16(f, csumStart + csumOffset, ~fold(sum(f, csumStart, f.length - csumStart)) & 0xffff);
}

/** An IPv4 frame's parts, with its IP and transport checksums checked. */
export interface ParsedIp {
  proto: number;
  src: number;
  dst: number;
  l4: number;
  l4Len: number;
  checksumsValid: boolean;
}

export function parseIp(f: Uint8Array): ParsedIp | undefined {
  if (f.length < ETH_HLEN + IP_HLEN || get16(f, 12) !== 0x0800) return undefined;
  const ip = ETH_HLEN;
  const ihl = (f[ip]! & 15) * 4;
  const total = get16(f, ip + 2);
  const proto = f[ip + 9]!;
  const src = get32(f, ip + 12);
  const dst = get32(f, ip + 16);
  const l4 = ip + ihl;
  const l4Len = total - ihl;
  const ipOk = fold(sum(f, ip, ihl)) === 0xffff;
  const ph = proto === PROTO_ICMP ? 0 : pseudo(src, dst, proto, l4Len);
  const l4Ok = fold(sum(f, l4, l4Len, ph)) === 0xffff;
  return { proto, src, dst, l4, l4Len, checksumsValid: ipOk && l4Ok };
}

/** A TCP segment the guest received, read field by field (checksums checked). */
export interface ParsedTcp {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** the MSS option, or 0 */
  mss: number;
  /** the window scale option, or -1 */
  wscale: number;
  data: Uint8Array;
}

export function parseTcp(f: Uint8Array): ParsedTcp | undefined {
  const ip = parseIp(f);
  if (!ip || ip.proto !== PROTO_TCP || !ip.checksumsValid) return undefined;
  const o = ip.l4;
  const hl = (f[o + 12]! >>> 4) * 4;
  let mss = 0;
  let wscale = -1;
  for (let i = o + 20; i < o + hl;) {
    const kind = f[i]!;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const len = f[i + 1]!;
    if (len < 2) break;
    if (kind === 2 && len === 4) mss = get16(f, i + 2);
    if (kind === 3 && len === 3) wscale = f[i + 2]!;
    i += len;
  }
  return {
    src: ip.src,
    dst: ip.dst,
    sport: get16(f, o),
    dport: get16(f, o + 2),
    seq: get32(f, o + 4),
    ack: get32(f, o + 8),
    flags: f[o + 13]!,
    window: get16(f, o + 14),
    mss,
    wscale,
    data: f.subarray(o + hl, o + ip.l4Len),
  };
}

/** An ICMP destination-unreachable (type 3) the guest received: its code and the quoted destination port. */
export function parseUnreachable(f: Uint8Array): { code: number; quotedPort: number } | undefined {
  const ip = parseIp(f);
  if (!ip || ip.proto !== PROTO_ICMP || !ip.checksumsValid || f[ip.l4] !== 3) return undefined;
  const quoted = ip.l4 + 8;
  const ihl = (f[quoted]! & 15) * 4;
  return { code: f[ip.l4 + 1]!, quotedPort: get16(f, quoted + ihl + 2) };
}
