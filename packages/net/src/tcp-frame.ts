// Where an Ethernet frame's TCP header is, for ports that describe offloads to the other side
// (a tap's virtio_net_hdr, a virtio-net receive header): csum_start and, for a TCP
// super-segment, hdr_len (virtio 1.2 §5.1.6.2). Reads a few bytes; never throws.
import { ETH_HLEN, ETHERTYPE_IPV4, etherType } from './ethernet';
import { PROTO_TCP } from './ipv4';

export { TCP_CHECK_OFFSET, tcpHeaderLength } from './tcp/header';

/**
 * Offset of the TCP header in frame[0, len) when it holds a whole IPv4 TCP header (no fragment
 * check: the NAT sends none), else -1. The TCP header length is `tcpHeaderLength(frame, offset)`.
 */
export function tcpHeaderOffset(frame: Uint8Array, len: number): number {
  if (len < ETH_HLEN + 40 || etherType(frame, len) !== ETHERTYPE_IPV4) return -1;
  const ihl = (frame[ETH_HLEN]! & 0x0f) * 4;
  if (ihl < 20 || frame[ETH_HLEN + 9] !== PROTO_TCP || len < ETH_HLEN + ihl + 20) return -1;
  return ETH_HLEN + ihl;
}
