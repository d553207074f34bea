// Builds the frames a guest would send, for tests: Ethernet + IPv4 + ICMP/UDP/TCP, with correct
// checksums, using the package's own writers (the parsers are checked against them and against
// hand-written bytes in the unit tests).
import { writeEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETH_HLEN } from '../ethernet';
import { writeIpv4Header, IPV4_HLEN, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from '../ipv4';
import { writeUdp, UDP_HLEN } from '../udp';
import { finishTcp, writeTcpHeader } from '../tcp/header';
import { finishIcmp } from '../icmp';
import { writeArp, ARP_LEN, ARP_REQUEST } from '../arp';
import type { FramePort } from '../frame-port';

export const GUEST_MAC = new Uint8Array([0x02, 0, 0, 0, 0, 0x15]);
export const GW_MAC = new Uint8Array([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
export const GUEST = 0x0a00020f;
export const GATEWAY = 0x0a000202;
export const DNS = 0x0a000203;

function ip(
  proto: number,
  src: number,
  dst: number,
  payload: Uint8Array,
  build: (buf: Uint8Array, off: number) => void,
): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + IPV4_HLEN + payload.length);
  writeEthernet(f, GW_MAC, GUEST_MAC, ETHERTYPE_IPV4);
  f.set(payload, ETH_HLEN + IPV4_HLEN);
  build(f, ETH_HLEN + IPV4_HLEN);
  writeIpv4Header(f, ETH_HLEN, proto, src, dst, payload.length);
  return f;
}

export function arpRequest(targetIp: number): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + ARP_LEN);
  writeEthernet(f, new Uint8Array(6).fill(255), GUEST_MAC, ETHERTYPE_ARP);
  writeArp(f, ETH_HLEN, ARP_REQUEST, GUEST_MAC, GUEST, new Uint8Array(6), targetIp);
  return f;
}

export function icmpEcho(dst: number, id: number, seq: number, data: Uint8Array): Uint8Array {
  const p = new Uint8Array(8 + data.length);
  p[4] = id >> 8;
  p[5] = id & 255;
  p[6] = seq >> 8;
  p[7] = seq & 255;
  p.set(data, 8);
  return ip(PROTO_ICMP, GUEST, dst, p, (b, o) => finishIcmp(b, o, p.length, 8, 0));
}

export function udp(
  src: number,
  dst: number,
  srcPort: number,
  dstPort: number,
  data: Uint8Array,
): Uint8Array {
  const p = new Uint8Array(UDP_HLEN + data.length);
  p.set(data, UDP_HLEN);
  return ip(PROTO_UDP, src, dst, p, (b, o) => writeUdp(b, o, src, dst, srcPort, dstPort, data.length));
}

export function tcp(
  dst: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  data = new Uint8Array(0),
  mss = 0,
  wscale = -1,
): Uint8Array {
  const hl = mss > 0 ? (wscale >= 0 ? 28 : 24) : 20;
  const p = new Uint8Array(hl + data.length);
  p.set(data, hl);
  return ip(PROTO_TCP, GUEST, dst, p, (b, o) => {
    writeTcpHeader(b, o, srcPort, dstPort, seq, ack, flags, window, mss, wscale);
    finishTcp(b, o, p.length, GUEST, dst);
  });
}

/** A FramePort that keeps copies of every frame sent to the guest. */
export class CapturePort implements FramePort {
  readonly frames: Uint8Array[] = [];
  send(frame: Uint8Array, length: number): void {
    this.frames.push(frame.slice(0, length));
  }
  take(): Uint8Array[] {
    return this.frames.splice(0);
  }
}
