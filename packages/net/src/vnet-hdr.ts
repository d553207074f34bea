// struct virtio_net_hdr (virtio 1.2 §5.1.6; include/uapi/linux/virtio_net.h), little-endian:
//   u8 flags, u8 gso_type, le16 hdr_len, le16 gso_size, le16 csum_start, le16 csum_offset
//   [, le16 num_buffers]
// A tap with IFF_VNET_HDR puts the 10-byte form in front of each frame (the tap's default size);
// a virtio-net device with VIRTIO_F_VERSION_1 uses the 12-byte form, num_buffers included. This is
// the one declaration of the layout: @vmm/virtio's net/layout.ts re-exports it.
export const VNET_HDR_FLAGS = 0;
export const VNET_HDR_GSO_TYPE = 1;
export const VNET_HDR_HDR_LEN = 2;
export const VNET_HDR_GSO_SIZE = 4;
export const VNET_HDR_CSUM_START = 6;
export const VNET_HDR_CSUM_OFFSET = 8;
export const VNET_HDR_NUM_BUFFERS = 10;
/** The tap's form (no num_buffers). */
export const VIRTIO_NET_HDR_LEN = 10;
/** The form with num_buffers (virtio 1.x devices). */
export const VIRTIO_NET_HDR_V1_LEN = 12;
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
  buf[VNET_HDR_FLAGS] = flags;
  buf[VNET_HDR_GSO_TYPE] = gsoType;
  le16(buf, VNET_HDR_HDR_LEN, hdrLen);
  le16(buf, VNET_HDR_GSO_SIZE, gsoSize);
  le16(buf, VNET_HDR_CSUM_START, csumStart);
  le16(buf, VNET_HDR_CSUM_OFFSET, csumOffset);
}

/**
 * Reads the header of a `len`-byte read: `flags | gso_type << 8`, or -1 when the read is too
 * short to hold a header and an Ethernet header.
 */
export function readVnetHdr(buf: Uint8Array, len: number): number {
  if (len < VIRTIO_NET_HDR_LEN + 14) return -1;
  return buf[VNET_HDR_FLAGS]! | (buf[VNET_HDR_GSO_TYPE]! << 8);
}

function le16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v & 0xff;
  buf[at + 1] = v >>> 8;
}
