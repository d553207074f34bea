// @vmm/virtio: the transport, the split queues and the small devices (blk, console, rng). The
// network, vsock and virtio-fs devices are entries of their own (@vmm/virtio/net, /vsock, /fs):
// they pull the NAT, stream machinery and the FUSE server, which a VM without them never loads.
export * from './errors';
export * from './features';
export * from './status';
export type { DeviceContext, DeviceThreadSpec, InterruptSink, VirtioDevice } from './device';
export { ArrayGuestMemory } from '@vmm/hypervisor';
export { RegionViews } from './memory/region-views';
export * as splitLayout from './queue/layout';
export { DescriptorChain } from './queue/chain';
export { DEFAULT_MAX_CHAIN_BYTES, SplitQueue } from './queue/split';
export type { PopResult, SplitQueueState } from './queue/split';
export * as mmioRegisters from './mmio/registers';
export { MMIO_SLOT_SIZE } from './mmio/registers';
export { MmioTransport } from './mmio/transport';
export { signalUsedBuffer } from './mmio/used-interrupt';
export { AdaptivePollWindow, POLL_START_NS } from './adaptive-poll';
export type { MmioTransportOptions, MmioTransportState } from './mmio/transport';
export * as blkLayout from './blk/layout';
export { BlkDevice, createBlkDevice } from './blk/device';
export type { BlkDeviceOptions, BlkDeviceStats } from './blk/device';
export { IO_CHUNK } from './blk/device';
export { openBlkImage } from './blk/image';
export type { BlkImage } from './blk/image';
export { ConsoleDevice } from './console/device';
export type { ConsoleDeviceOptions, ConsoleDeviceStats, ConsoleOutput } from './console/device';
export { RngDevice, createRngDevice } from './rng/device';
export type { RngDeviceOptions } from './rng/device';
// The vsock error class alone (a VM without vsock throws it when asked for its vsock).
export { VsockError } from './vsock/errors';
