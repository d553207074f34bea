// Split virtqueue layout: virtio 1.2 §2.7 (descriptor table §2.7.5, available ring §2.7.6,
// used ring §2.7.8, indirect descriptors §2.7.5.3, event suppression §2.7.7 and §2.7.10).
// This module is the only place these offsets are written down.

/** struct virtq_desc { le64 addr; le32 len; le16 flags; le16 next; } */
export const DESC_SIZE = 16;
export const DESC_ADDR = 0;
export const DESC_LEN = 8;
export const DESC_FLAGS = 12;
export const DESC_NEXT = 14;
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const DESC_ALIGN = 16;

/** struct virtq_avail { le16 flags; le16 idx; le16 ring[size]; le16 used_event; } */
export const AVAIL_FLAGS = 0;
export const AVAIL_IDX = 2;
export const AVAIL_RING = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const AVAIL_ALIGN = 2;
export function availSize(size: number): number {
  return 6 + 2 * size;
}
export function usedEventOffset(size: number): number {
  return AVAIL_RING + 2 * size;
}

/** struct virtq_used { le16 flags; le16 idx; struct { le32 id; le32 len; } ring[size]; le16 avail_event; } */
export const USED_FLAGS = 0;
export const USED_IDX = 2;
export const USED_RING = 4;
export const USED_ELEM_SIZE = 8;
export const VIRTQ_USED_F_NO_NOTIFY = 1;
export const USED_ALIGN = 4;
export function usedSize(size: number): number {
  return 6 + 8 * size;
}
export function availEventOffset(size: number): number {
  return USED_RING + USED_ELEM_SIZE * size;
}

/** The largest split queue: §2.7 ("Queue Size ... a maximum of 32768"). */
export const MAX_QUEUE_SIZE = 32768;

/** vring_need_event: §2.7.7.2 / Linux include/uapi/linux/virtio_ring.h. */
export function needEvent(eventIdx: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}
