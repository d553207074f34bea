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
export * as netLayout from './net/layout';
export { NetDevice } from './net/device';
export type { NetDeviceOptions, NetDeviceStats } from './net/device';
export { natBackend, tapBackend } from './net/backend';
export type { NetBackend, NetBackendFactory } from './net/backend';
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
export * as fuseLayout from './fs/layout';
export { FuseServer } from './fs/server';
export type { FsCacheMode, FuseServerOptions } from './fs/options';
export type { IdMapRange } from './fs/idmap';
export type { FsStats } from './fs/context';
export { FsShareError } from './fs/errors';
export { mountFuse, serveFuseDevice, unmountFuse } from './fs/dev-fuse';
export type { FuseDeviceStats, FuseMountOptions } from './fs/dev-fuse';
export { DEVICE_ID_FS, FS_THREAD_SYSCALLS, FsDevice, createFsDevice } from './fs/device';
export type { FsDeviceOptions } from './fs/device';
