// Typed errors of @vmm/virtio. A guest's misbehaviour never becomes one of these: it becomes an
// error status or DEVICE_NEEDS_RESET. These are for the host side (bad images, bad options).
import { VmmError } from '@vmm/hypervisor';

/** A virtio device cannot be created from what the user gave (image, option). */
export class VirtioConfigError extends VmmError {}

/** A disk image that virtio-blk cannot serve (size, permissions). */
export class BlkImageError extends VirtioConfigError {
  constructor(
    readonly path: string,
    code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
