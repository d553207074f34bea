// Where an Ethernet frame's TCP header is, for ports that describe offloads to the other side
// (a tap's virtio_net_hdr, a virtio-net receive header): csum_start and, for a TCP
// super-segment, hdr_len (virtio 1.2 §5.1.6.2). Reads a few bytes; never throws.
import { ETH_HLEN, ETHERTYPE_IPV4 } from './ethernet';
import { PROTO_TCP } from './ipv4';

/** Offset of the checksum field inside the TCP header (RFC 9293 §3.1). */
export const TCP_CHECK_OFFSET = 16;

/**
 * Offset of the TCP header in frame[0, len) when it holds a whole IPv4 TCP header (no fragment
 * check: the NAT sends none), else -1. The TCP header length is `tcpHeaderLength(frame, offset)`.
 */
export function tcpHeaderOffset(frame: Uint8Array, len: number): number {
  if (len < ETH_HLEN + 40 || ((frame[12]! << 8) | frame[13]!) !== ETHERTYPE_IPV4) return -1;
  const ihl = (frame[ETH_HLEN]! & 0x0f) * 4;
  if (ihl < 20 || frame[ETH_HLEN + 9] !== PROTO_TCP || len < ETH_HLEN + ihl + 20) return -1;
  return ETH_HLEN + ihl;
}

/** Bytes of the TCP header (data offset × 4) at `off`. */
export function tcpHeaderLength(frame: Uint8Array, off: number): number {
  return (frame[off + 12]! >>> 4) * 4;
}
