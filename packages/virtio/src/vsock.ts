// @vmm/virtio/vsock: the vsock device and its host-side streams, an entry of its own so that a VM
// without vsock never loads them.
export * as vsockLayout from './vsock/layout';
export { VsockDevice } from './vsock/device';
export type {
  VsockConnectionHandler,
  VsockDeviceOptions,
  VsockDeviceStats,
  VsockListener,
  VsockRequest,
  VsockRequestHandler,
} from './vsock/device';
export { VsockStream } from './vsock/stream';
export { VsockError } from './vsock/errors';
