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
export { TCP_CHECK_OFFSET, tcpHeaderOffset, tcpHeaderLength } from './tcp-frame';
export { IPV4_MAX_TOTAL } from './ipv4';
export { NatStack, type NatStats } from './stack';
export { TapDevice, type TapOptions } from './tap';
export { withNetns, openNetns } from './netns';
