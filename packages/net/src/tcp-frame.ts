// The virtio_net_hdr of a TCP frame that leaves with its checksum partial, for ports that
// describe offloads to the other side (a tap, a virtio-net receive queue): csum_start where the
// TCP header is and, for a super-segment, GSO_TCPV4 with hdr_len (virtio 1.2 §5.1.6.2,
// §5.1.6.4). Reads a few bytes of the frame; never throws.
import { ETH_HLEN, ETHERTYPE_IPV4, etherType } from './ethernet';
import { PROTO_TCP } from './ipv4';
import { TCP_CHECK_OFFSET, tcpHeaderLength } from './tcp/header';
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  writeVnetHdr,
} from './vnet-hdr';

/**
 * Offset of the TCP header in frame[0, len) when it holds a whole IPv4 TCP header (no fragment
 * check: the NAT sends none), else -1.
 */
function tcpHeaderOffset(frame: Uint8Array, len: number): number {
  if (len < ETH_HLEN + 40 || etherType(frame, len) !== ETHERTYPE_IPV4) return -1;
  const ihl = (frame[ETH_HLEN]! & 0x0f) * 4;
  if (ihl < 20 || frame[ETH_HLEN + 9] !== PROTO_TCP || len < ETH_HLEN + ihl + 20) return -1;
  return ETH_HLEN + ihl;
}

/**
 * For an IPv4 TCP frame[0, len) whose checksum holds only the pseudo-header sum: writes hdr[0, 10)
 * (NEEDS_CSUM; GSO_TCPV4 when `gsoSize` > 0 and the data is longer than one segment) and returns
 * true. For any other frame it writes nothing and returns false.
 */
export function writeTcpOffloadHdr(
  hdr: Uint8Array,
  frame: Uint8Array,
  len: number,
  gsoSize: number,
): boolean {
  const tcp = tcpHeaderOffset(frame, len);
  if (tcp < 0) return false;
  const headers = tcp + tcpHeaderLength(frame, tcp);
  const gso = gsoSize > 0 && len - headers > gsoSize;
  writeVnetHdr(
    hdr,
    VIRTIO_NET_HDR_F_NEEDS_CSUM,
    tcp,
    TCP_CHECK_OFFSET,
    gso ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_NONE,
    gso ? headers : 0,
    gso ? gsoSize : 0,
  );
  return true;
}
