// Reserved (device-independent) feature bits: virtio 1.2 §6.
export const VIRTIO_F_INDIRECT_DESC = 28n;
export const VIRTIO_F_RING_EVENT_IDX = 29n;
export const VIRTIO_F_VERSION_1 = 32n;
export const VIRTIO_F_ACCESS_PLATFORM = 33n;
export const VIRTIO_F_RING_PACKED = 34n;

/** A feature set with `bit` set. */
export function bit(n: bigint): bigint {
  return 1n << n;
}

/** Whether `features` has `bit` set. */
export function hasFeature(features: bigint, n: bigint): boolean {
  return ((features >> n) & 1n) === 1n;
}

/** The transport-level features every device here offers: VERSION_1, indirect descriptors, event idx. */
export const TRANSPORT_FEATURES =
  bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_INDIRECT_DESC) | bit(VIRTIO_F_RING_EVENT_IDX);
