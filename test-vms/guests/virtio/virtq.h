/*
 * One split virtqueue (virtio 1.2 §2.7 "Split Virtqueues"): descriptor table (§2.7.5), available
 * ring (§2.7.6) and used ring (§2.7.8) in guest RAM; the guest's memory is identity-mapped, so a
 * pointer is its physical address.
 */
#ifndef VIRTQ_H
#define VIRTQ_H

#include <stdint.h>

#define VIRTQ_SIZE 8

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

struct virtq_desc { /* §2.7.5, 16 bytes, 16-byte aligned table */
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};

struct virtq_avail { /* §2.7.6, 2-byte aligned */
  uint16_t flags;
  uint16_t idx;
  uint16_t ring[VIRTQ_SIZE];
  uint16_t used_event;
};

struct virtq_used_elem { /* §2.7.8 */
  uint32_t id;
  uint32_t len;
};

struct virtq_used { /* §2.7.8, 4-byte aligned */
  uint16_t flags;
  uint16_t idx;
  struct virtq_used_elem ring[VIRTQ_SIZE];
  uint16_t avail_event;
};

struct virtq {
  uint64_t base; /* the transport */
  uint32_t index;
  uint16_t last_used;
  struct virtq_desc desc[VIRTQ_SIZE] __attribute__((aligned(16)));
  struct virtq_avail avail __attribute__((aligned(16)));
  struct virtq_used used __attribute__((aligned(16)));
};

/* One buffer of a chain: device-readable unless writable. */
struct virtq_buf {
  const volatile void *addr;
  uint32_t len;
  int writable;
};

/* Sets up queue `index` of the transport (QueueSel, QueueNum, addresses, QueueReady); 0 on success. */
int virtq_setup(struct virtq *q, uint64_t base, uint32_t index);
/*
 * Submits one chain of n (<= VIRTQ_SIZE) buffers, notifies, and waits for the device to use it
 * (asleep in `sti; hlt` until its interrupt, irq.h; a watchdog ends the guest if it never comes),
 * then acks InterruptStatus. Returns the used length, or -1 if n is out of range.
 */
int64_t virtq_run(struct virtq *q, const struct virtq_buf *bufs, unsigned n);

#endif
