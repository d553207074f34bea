// @vmm/virtio/net: the network device and its backends (the NAT of @vmm/net, a tap), an entry of
// its own so that a VM without a NIC never loads them.
export * as netLayout from './net/layout';
export { NetDevice } from './net/device';
export type { NetDeviceOptions, NetDeviceStats } from './net/device';
export { natBackend, tapBackend } from './net/backend';
export type { NetBackend, NetBackendFactory } from './net/backend';
