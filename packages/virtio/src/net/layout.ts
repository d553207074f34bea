// virtio-net layouts: virtio 1.2 §5.1 (network device).
import { IPV4_MAX_TOTAL } from '@vmm/net';

/** Device ID (§5). */
export const DEVICE_ID_NET = 1;

/** Queue indices (§5.1.2): receiveq1, transmitq1; no control queue. */
export const RX_QUEUE = 0;
export const TX_QUEUE = 1;

/** Feature bits (§5.1.3). */
export const VIRTIO_NET_F_CSUM = 0n;
export const VIRTIO_NET_F_GUEST_CSUM = 1n;
export const VIRTIO_NET_F_MTU = 3n;
export const VIRTIO_NET_F_MAC = 5n;
/** Driver takes TCP/IPv4 super-segments (needs GUEST_CSUM). */
export const VIRTIO_NET_F_GUEST_TSO4 = 7n;
/** Device takes TCP/IPv4 super-segments (needs CSUM). */
export const VIRTIO_NET_F_HOST_TSO4 = 11n;
export const VIRTIO_NET_F_MRG_RXBUF = 15n;
export const VIRTIO_NET_F_STATUS = 16n;

/** struct virtio_net_config (§5.1.4): mac[6], status u16, max_virtqueue_pairs u16, mtu u16. */
export const CONFIG_MAC = 0;
export const CONFIG_STATUS = 6;
export const CONFIG_MAX_VIRTQUEUE_PAIRS = 8;
export const CONFIG_MTU = 10;
export const CONFIG_SIZE = 12;
export const VIRTIO_NET_S_LINK_UP = 1;

/**
 * struct virtio_net_hdr (§5.1.6): flags u8, gso_type u8, hdr_len le16, gso_size le16,
 * csum_start le16, csum_offset le16, num_buffers le16. 12 bytes whenever VERSION_1 is negotiated.
 */
export const HDR_FLAGS = 0;
export const HDR_GSO_TYPE = 1;
export const HDR_HDR_LEN = 2;
export const HDR_GSO_SIZE = 4;
export const HDR_CSUM_START = 6;
export const HDR_CSUM_OFFSET = 8;
export const HDR_NUM_BUFFERS = 10;
export const HDR_SIZE = 12;

/** virtio_net_hdr.flags (§5.1.6). */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
/** virtio_net_hdr.gso_type (§5.1.6): NONE, or TCPV4 with HOST_TSO4 / GUEST_TSO4; ECN is not offered. */
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;

/** Ethernet header (14) plus one 802.1Q tag (4): the most a frame adds to the MTU. */
export const ETH_OVERHEAD = 18;
/** Largest TCP/IPv4 super-segment frame (the IPv4 total length is 16 bits), with ETH_OVERHEAD. */
export const TSO_MAX_FRAME = ETH_OVERHEAD + IPV4_MAX_TOTAL;
