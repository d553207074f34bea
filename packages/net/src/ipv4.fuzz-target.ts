// Fuzz target: the IPv4 header parser (RFC 791 §3.1) on any bytes at any offset and length, laid out
// as test-support/fuzz-input.ts says (FLAG_FIX_CHECKSUM: the header checksum is made right first).
// Contract: that file's, and an accepted header fits: 20 <= header length <= total length <= len.
import { Ipv4Header } from './ipv4';
import { FLAG_FIX_CHECKSUM, fixChecksumAt, fuzzParser, parserSeed } from './test-support/fuzz-input';
import { arpRequest, icmpEcho, GATEWAY, tcp, udp, GUEST, DNS } from './test-support/guest-frames';

const ip = new Ipv4Header();

export function fuzz(data: Uint8Array): void {
  fuzzParser(data, {
    parse: (buf, off, len) => ip.parse(buf, off, len),
    fields: () =>
      `${ip.headerLen} ${ip.totalLen} ${ip.protocol} ${ip.ttl} ${ip.src} ${ip.dst} ${ip.fragment}`,
    check: (_off, len) =>
      ip.headerLen < 20 || ip.headerLen % 4 !== 0 || ip.headerLen > ip.totalLen || ip.totalLen > len
        ? `header ${ip.headerLen}, total ${ip.totalLen} in ${len} bytes`
        : undefined,
    fixChecksum: (p, len) => fixChecksumAt(p, 10, 0, Math.min(len, ((p[0] ?? 0) & 15) * 4)),
  });
}

export function seeds(): Uint8Array[] {
  const frames = [
    icmpEcho(GATEWAY, 1, 1, new Uint8Array(8)),
    udp(GUEST, DNS, 5353, 53, new Uint8Array(4)),
    tcp(GATEWAY, 40000, 80, 1, 0, 0x02, 65535, new Uint8Array(0), 1460, 7),
  ];
  const withOptions = icmpEcho(GATEWAY, 1, 1, new Uint8Array(8)).slice(14);
  withOptions[0] = 0x46; // IHL 6: one word of options (the echo header stands in for them)
  return [
    ...frames.map((f) => parserSeed(f.subarray(14))),
    parserSeed(withOptions, FLAG_FIX_CHECKSUM),
    parserSeed(arpRequest(GATEWAY).subarray(14)),
  ];
}
