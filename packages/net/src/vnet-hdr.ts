// struct virtio_net_hdr (virtio 1.2 §5.1.6; include/uapi/linux/virtio_net.h), the 10-byte legacy
// layout a tap with IFF_VNET_HDR puts in front of each frame, little-endian (the tap's default):
//   u8 flags, u8 gso_type, le16 hdr_len, le16 gso_size, le16 csum_start, le16 csum_offset
export const VIRTIO_NET_HDR_LEN = 10;
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
/** A TCP/IPv4 super-segment the receiver cuts into gso_size-byte segments (TSO). */
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
/** Or-ed into gso_type: the segments carry ECN's CWR flag as the super-segment does. */
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

/**
 * Writes a header at buf[0, 10): flags, GSO (type, bytes of headers, segment size) and, for
 * NEEDS_CSUM, where the checksum goes.
 */
export function writeVnetHdr(
  buf: Uint8Array,
  flags: number,
  csumStart: number,
  csumOffset: number,
  gsoType = VIRTIO_NET_HDR_GSO_NONE,
  hdrLen = 0,
  gsoSize = 0,
): void {
  buf[0] = flags;
  buf[1] = gsoType;
  buf[2] = hdrLen & 0xff;
  buf[3] = hdrLen >>> 8;
  buf[4] = gsoSize & 0xff;
  buf[5] = gsoSize >>> 8;
  buf[6] = csumStart & 0xff;
  buf[7] = csumStart >>> 8;
  buf[8] = csumOffset & 0xff;
  buf[9] = csumOffset >>> 8;
}

/**
 * Reads the header of a `len`-byte read: `flags | gso_type << 8`, or -1 when the read is too
 * short to hold a header and an Ethernet header.
 */
export function readVnetHdr(buf: Uint8Array, len: number): number {
  if (len < VIRTIO_NET_HDR_LEN + 14) return -1;
  return buf[0]! | (buf[1]! << 8);
}
