// @vmm/virtio/fs: the virtio-fs device and its FUSE server, an entry of its own so that a VM
// without a share never loads them (its device thread imports this entry alone).
export * as fuseLayout from './fs/layout';
export { FuseServer } from './fs/server';
export type { FsCacheMode, FuseServerOptions } from './fs/options';
export type { IdMapRange } from './fs/idmap';
export type { FsStats } from './fs/context';
export { FsShareError } from './fs/errors';
export {
  DEFAULT_FUSE_POLL_US,
  MAX_FUSE_POLL_US,
  mountFuse,
  serveFuseDevice,
  unmountFuse,
} from './fs/dev-fuse';
export type { FuseDeviceStats, FuseMountOptions, FuseServeOptions } from './fs/dev-fuse';
export { DEVICE_ID_FS, FS_THREAD_SYSCALLS, FsDevice, createFsDevice } from './fs/device';
export type { FsDeviceOptions } from './fs/device';
export { fsSessionFault } from './fs/session';
export type { FsRestoreCount, FsSessionState } from './fs/session';
