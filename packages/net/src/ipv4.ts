// IPv4 header: RFC 791 §3.1. Options are skipped (IHL honoured). Fragments are DROPPED, not
// reassembled: the guests we serve (Linux) set DF and use path-MTU discovery, and our own
// datagrams are never larger than the MTU, so reassembly would only be an attack surface.
import { checksum } from './checksum';
import { readIpv4, readU16, writeIpv4, writeU16 } from './addr';

export const IPV4_HLEN = 20;
/** Largest IPv4 datagram, header included (the total length field is 16 bits). */
export const IPV4_MAX_TOTAL = 65535;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export class Ipv4Header {
  headerLen = 0;
  totalLen = 0;
  protocol = 0;
  ttl = 0;
  src = 0;
  dst = 0;
  /** true for any fragment (MF set or a non-zero offset) */
  fragment = false;

  /**
   * Parses the header at buf[off, off+len). False for anything not a well-formed, unfragmented
   * IPv4 datagram with a correct header checksum that fits in `len` bytes.
   */
  parse(buf: Uint8Array, off: number, len: number): boolean {
    if (len < IPV4_HLEN || off < 0 || off + len > buf.length) return false;
    const vihl = buf[off]!;
    if (vihl >>> 4 !== 4) return false;
    const hl = (vihl & 15) * 4;
    if (hl < IPV4_HLEN || hl > len) return false;
    const total = readU16(buf, off + 2);
    if (total < hl || total > len) return false;
    if (checksum(buf, off, hl) !== 0) return false;
    const frag = readU16(buf, off + 6);
    this.fragment = (frag & 0x2000) !== 0 || (frag & 0x1fff) !== 0;
    this.headerLen = hl;
    this.totalLen = total;
    this.ttl = buf[off + 8]!;
    this.protocol = buf[off + 9]!;
    this.src = readIpv4(buf, off + 12);
    this.dst = readIpv4(buf, off + 16);
    return true;
  }
}

let ident = 0;

/** Writes a 20-byte header (DF set, TTL 64) with its checksum. Returns the header length. */
export function writeIpv4Header(
  buf: Uint8Array,
  off: number,
  protocol: number,
  src: number,
  dst: number,
  payloadLen: number,
): number {
  buf[off] = 0x45;
  buf[off + 1] = 0;
  writeU16(buf, off + 2, IPV4_HLEN + payloadLen);
  ident = (ident + 1) & 0xffff;
  writeU16(buf, off + 4, ident);
  writeU16(buf, off + 6, 0x4000);
  buf[off + 8] = 64;
  buf[off + 9] = protocol;
  writeU16(buf, off + 10, 0);
  writeIpv4(buf, off + 12, src);
  writeIpv4(buf, off + 16, dst);
  writeU16(buf, off + 10, checksum(buf, off, IPV4_HLEN));
  return IPV4_HLEN;
}
