// Frames a guest's network stack would build, for virtio-net model tests: Ethernet (IEEE 802.3),
// IPv4 (RFC 791), UDP (RFC 768), TCP (RFC 9293), DHCP (RFC 2131). Transport checksums are left
// partial the way Linux leaves them for VIRTIO_NET_HDR_F_NEEDS_CSUM (the folded pseudo-header sum
// in the field), so the device must complete them; `verify` checks what comes back.

export const GUEST_MAC = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
export const BROADCAST = new Uint8Array(6).fill(0xff);
export const GUEST_IP = 0x0a00020f;
export const GATEWAY_IP = 0x0a000202;
export const ETH_HLEN = 14;
export const IP_HLEN = 20;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const SYN = 0x02;
export const PSH = 0x08;
export const ACK = 0x10;
export const FIN = 0x01;

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

function ipFrame(dstMac: Uint8Array, proto: number, src: number, dst: number, l4: Uint8Array): Uint8Array {
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
  // the partial checksum: the folded pseudo-header sum, as Linux's CHECKSUM_PARTIAL leaves it
  const csumField = proto === PROTO_TCP ? 16 : 6;
  put16(f, ip + IP_HLEN + csumField, fold(pseudo(src, dst, proto, l4.length)));
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
  const l4 = new Uint8Array(8 + data.length);
  put16(l4, 0, sport);
  put16(l4, 2, dport);
  put16(l4, 4, l4.length);
  l4.set(data, 8);
  return {
    frame: ipFrame(dstMac, PROTO_UDP, GUEST_IP, dst, l4),
    csumStart: ETH_HLEN + IP_HLEN,
    csumOffset: 6,
  };
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
  const l4 = new Uint8Array(8 + bootp.length);
  put16(l4, 0, 68);
  put16(l4, 2, 67);
  put16(l4, 4, l4.length);
  l4.set(bootp, 8);
  return {
    frame: ipFrame(BROADCAST, PROTO_UDP, 0, 0xffffffff, l4),
    csumStart: ETH_HLEN + IP_HLEN,
    csumOffset: 6,
  };
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
  const hl = mss > 0 ? 24 : 20;
  const l4 = new Uint8Array(hl + data.length);
  put16(l4, 0, sport);
  put16(l4, 2, dport);
  put32(l4, 4, seq);
  put32(l4, 8, ack);
  l4[12] = (hl / 4) << 4;
  l4[13] = flags;
  put16(l4, 14, 65535);
  if (mss > 0) {
    l4.set([2, 4], 20);
    put16(l4, 22, mss);
  }
  l4.set(data, hl);
  return {
    frame: ipFrame(dstMac, PROTO_TCP, GUEST_IP, dst, l4),
    csumStart: ETH_HLEN + IP_HLEN,
    csumOffset: 16,
  };
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
  put32(f, a + 14, GUEST_IP);
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
  const l4Ok = fold(sum(f, l4, l4Len, pseudo(src, dst, proto, l4Len))) === 0xffff;
  return { proto, src, dst, l4, l4Len, checksumsValid: ipOk && l4Ok };
}
