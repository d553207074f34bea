export { NetError, NetConfigError, NetSysError } from './errors';
export { parseIpv4, formatIpv4, parseMac, formatMac } from './addr';
export {
  defaultConfig,
  parseHostForward,
  parseDnsUpstream,
  MIN_MTU,
  MAX_MTU,
  type NetConfig,
  type HostForward,
} from './config';
export type { FramePort, FrameSink } from './frame-port';
export { parseOutboundDeny, formatOutboundDeny, ALLOW_ALL, type OutboundDeny } from './policy';
export { natFds, openFileLimit } from './fd-budget';
export { writeTcpOffloadHdr } from './tcp-frame';
export { IPV4_MAX_TOTAL } from './ipv4';
export {
  VNET_HDR_FLAGS,
  VNET_HDR_GSO_TYPE,
  VNET_HDR_HDR_LEN,
  VNET_HDR_GSO_SIZE,
  VNET_HDR_CSUM_START,
  VNET_HDR_CSUM_OFFSET,
  VNET_HDR_NUM_BUFFERS,
  VIRTIO_NET_HDR_V1_LEN,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_F_DATA_VALID,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
} from './vnet-hdr';
export { NatStack, type NatStats } from './stack';
export { TapDevice, type TapOptions } from './tap';
export { withNetns, openNetns } from './netns';
