// @vmm/net/options: what a command line or a config file gives the NAT (host forwards, the DNS
// upstream, outbound deny rules), parsed and checked, without the NAT itself: a VM without a NIC
// loads this alone.
export { NetError, NetConfigError } from './errors';
export { parseIpv4, formatIpv4, parseMac, formatMac } from './addr';
export { parseHostForward, parseDnsUpstream, MIN_MTU, MAX_MTU, type HostForward } from './config';
export { parseOutboundDeny, formatOutboundDeny, ALLOW_ALL, type OutboundDeny } from './policy';
