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

// struct virtio_net_hdr (§5.1.6), 12 bytes whenever VERSION_1 is negotiated: declared once, in
// @vmm/net (vnet-hdr.ts, which the tap uses in its 10-byte form). ECN is not offered.
export {
  VNET_HDR_FLAGS as HDR_FLAGS,
  VNET_HDR_GSO_TYPE as HDR_GSO_TYPE,
  VNET_HDR_HDR_LEN as HDR_HDR_LEN,
  VNET_HDR_GSO_SIZE as HDR_GSO_SIZE,
  VNET_HDR_CSUM_START as HDR_CSUM_START,
  VNET_HDR_CSUM_OFFSET as HDR_CSUM_OFFSET,
  VNET_HDR_NUM_BUFFERS as HDR_NUM_BUFFERS,
  VIRTIO_NET_HDR_V1_LEN as HDR_SIZE,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_F_DATA_VALID,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
} from '@vmm/net';

/** Ethernet header (14) plus one 802.1Q tag (4): the most a frame adds to the MTU. */
export const ETH_OVERHEAD = 18;
/** Largest TCP/IPv4 super-segment frame (the IPv4 total length is 16 bits), with ETH_OVERHEAD. */
export const TSO_MAX_FRAME = ETH_OVERHEAD + IPV4_MAX_TOTAL;
