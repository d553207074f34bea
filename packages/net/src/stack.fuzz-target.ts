// Fuzz target: the NAT's input path (NatStack.input: Ethernet, ARP, IPv4, ICMP, UDP, DHCP, DNS and
// TCP dispatch) with any frame a guest could send. Input byte 0: flags (bit 0: the transport vouches
// for the checksum, as virtio-net's NEEDS_CSUM; bit 1: make the IPv4 header checksum right; bit 2:
// make the TCP/UDP/ICMP checksum right; bits 3-4: where the frame starts in its ArrayBuffer, 0..3);
// byte 1: the length passed (the frame's minus 0..127, or plus 0..127); the rest: the frame.
// Contract: input() never throws and counts no internal error (a parser or handler that threw), and
// every frame the NAT sends back is well formed: checksums right (read by the test frame reader,
// which shares no code with the NAT), lengths consistent, within the MTU.
// Nothing leaves this machine: the outbound policy refuses every address (a SYN gets a RST, a
// datagram ICMP "administratively prohibited"), the gateway does not lead to the host's loopback,
// and DNS goes to 127.0.0.1:9 (discard). So no TCP socket is ever opened; at most 4 UDP flows are.
import { NatStack } from './stack';
import { CapturePort } from './test-support/capture-port';
import { fixChecksumAt, pseudoSum } from './test-support/fuzz-input';
import {
  arpRequest,
  DNS,
  GATEWAY,
  GUEST,
  get16,
  icmpEcho,
  parseIp,
  tcp,
  udp,
} from './test-support/guest-frames';

const MTU = 1500;
const port = new CapturePort();
const stack = new NatStack(port, {
  mtu: MTU,
  dnsUpstream: { address: '127.0.0.1', port: 9 },
  deny: { host: false, linkLocal: false, networks: [{ network: 0, prefixLength: 0 }] },
  maxUdpFlows: 4,
  maxTcpConnections: 4,
});

export function fuzz(data: Uint8Array): void {
  if (data.length < 2) return;
  const flags = data[0]!;
  const shift = (flags >> 3) & 3;
  const frame = new Uint8Array(new ArrayBuffer(data.length - 2 + shift), shift, data.length - 2);
  frame.set(data.subarray(2));
  if (flags & 2) fixIpChecksum(frame);
  if (flags & 4) fixTransportChecksum(frame);
  const adjust = data[1]!;
  const length = adjust < 128 ? frame.length - adjust : frame.length + adjust - 128;
  const before = stack.stats();
  stack.input(frame, length, (flags & 1) === 1);
  stack.flush();
  const after = stack.stats();
  if (after.internalErrors !== before.internalErrors) {
    throw new Error(
      'contract: a parser or handler threw inside NatStack.input (stats().internalErrors went up)',
    );
  }
  if (after.framesIn !== before.framesIn + 1) throw new Error('contract: the frame was not counted');
  for (const f of port.take()) checkFrameOut(f);
}

/** A frame the NAT sent to the guest: ARP of the right size, or IPv4 with right checksums and lengths. */
function checkFrameOut(f: Uint8Array): void {
  if (f.length > 14 + MTU) throw new Error(`contract: a ${f.length}-byte frame for a guest with MTU ${MTU}`);
  const type = get16(f, 12);
  if (type === 0x0806) {
    if (f.length !== 42) throw new Error(`contract: a ${f.length}-byte ARP frame`);
    return;
  }
  if (type !== 0x0800) throw new Error(`contract: a frame of EtherType 0x${type.toString(16)}`);
  const ip = parseIp(f);
  if (!ip || !ip.checksumsValid) throw new Error('contract: a frame with a wrong IPv4 or transport checksum');
  if (get16(f, 16) + 14 !== f.length)
    throw new Error('contract: IPv4 total length and frame length disagree');
  if (ip.proto === 17 && get16(f, ip.l4 + 4) !== ip.l4Len)
    throw new Error('contract: UDP length is not the datagram');
}

function fixIpChecksum(f: Uint8Array): void {
  if (f.length < 34) return;
  fixChecksumAt(f, 24, 14, Math.min(f.length - 14, (f[14]! & 15) * 4));
}

function fixTransportChecksum(f: Uint8Array): void {
  if (f.length < 34) return;
  const hl = (f[14]! & 15) * 4;
  const l4 = 14 + hl;
  const len = Math.min(get16(f, 16), f.length - 14) - hl;
  if (len < 8) return;
  const src = ((f[26]! << 24) | (f[27]! << 16) | (f[28]! << 8) | f[29]!) >>> 0;
  const dst = ((f[30]! << 24) | (f[31]! << 16) | (f[32]! << 8) | f[33]!) >>> 0;
  const proto = f[23]!;
  if (proto === 1) fixChecksumAt(f, l4 + 2, l4, len);
  else if (proto === 6) fixChecksumAt(f, l4 + 16, l4, len, pseudoSum(src, dst, 6, len));
  else if (proto === 17) {
    const ulen = get16(f, l4 + 4);
    if (ulen >= 8 && ulen <= len) fixChecksumAt(f, l4 + 6, l4, ulen, pseudoSum(src, dst, 17, ulen));
  }
}

/** A BOOTREQUEST (RFC 2131 §2) from the guest's MAC with the given options. */
function bootRequest(options: number[]): Uint8Array {
  const m = new Uint8Array(300);
  m.set([1, 1, 6], 0);
  m.set([0x12, 0x34, 0x56, 0x78], 4);
  m.set([0x52, 0x54, 0x00, 0x12, 0x34, 0x56], 28);
  m.set([99, 130, 83, 99], 236);
  m.set(options, 240);
  return m;
}

function input(frame: Uint8Array, flags = 0): Uint8Array {
  const out = new Uint8Array(2 + frame.length);
  out[0] = flags;
  out.set(frame, 2);
  return out;
}

export function seeds(): Uint8Array[] {
  const query = new Uint8Array([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 102, 111, 111, 0, 0, 1, 0, 1]);
  const SYN = 0x02;
  const ACK = 0x10;
  const remote = 0x5db8d822; // a public address: refused by the policy
  return [
    input(arpRequest(GATEWAY)),
    input(arpRequest(DNS)),
    input(icmpEcho(GATEWAY, 1, 1, new Uint8Array(56))),
    input(icmpEcho(remote, 1, 2, new Uint8Array(8))),
    input(udp(GUEST, DNS, 5353, 53, query)),
    input(udp(0, 0xffffffff, 68, 67, bootRequest([53, 1, 1, 255]))),
    input(
      udp(GUEST, 0xffffffff, 68, 67, bootRequest([53, 1, 3, 50, 4, 10, 0, 2, 15, 54, 4, 10, 0, 2, 2, 255])),
    ),
    input(udp(GUEST, remote, 40000, 123, new Uint8Array(48))),
    input(udp(GUEST, GATEWAY, 40001, 5000, new Uint8Array(4))),
    input(tcp(GATEWAY, 40000, 22, 1, 0, SYN, 65535, new Uint8Array(0), 1460, 7)),
    input(tcp(remote, 40001, 443, 1000, 0, SYN, 65535, new Uint8Array(0), 1460)),
    input(tcp(remote, 40002, 80, 5, 9, ACK, 512, new TextEncoder().encode('GET /')), 1),
  ];
}

export function close(): void {
  stack.close();
}
