/* Split virtqueue driver side (virtio 1.2 §2.7.13 "Supplying Buffers to The Device", §2.7.14). */
#include "virtq.h"

#include "irq.h"
#include "virtio_mmio.h"

/* A full barrier without SSE2 (mfence is SSE2; a locked instruction orders all loads and stores,
 * Intel SDM vol. 3 §9.2.3). */
static void mb(void) { __asm__ volatile("lock addl $0, (%%rsp)" ::: "memory", "cc"); }

int virtq_setup(struct virtq *q, uint64_t base, uint32_t index) {
  q->base = base;
  q->index = index;
  q->last_used = 0;
  vmmio_write(base, VMMIO_QUEUE_SEL, index);
  if (vmmio_read(base, VMMIO_QUEUE_READY) != 0) return -1;
  uint32_t max = vmmio_read(base, VMMIO_QUEUE_NUM_MAX);
  if (max < VIRTQ_SIZE) return -1;
  vmmio_write(base, VMMIO_QUEUE_NUM, VIRTQ_SIZE);
  uint64_t d = (uint64_t)q->desc, a = (uint64_t)&q->avail, u = (uint64_t)&q->used;
  vmmio_write(base, VMMIO_QUEUE_DESC_LOW, (uint32_t)d);
  vmmio_write(base, VMMIO_QUEUE_DESC_HIGH, (uint32_t)(d >> 32));
  vmmio_write(base, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)a);
  vmmio_write(base, VMMIO_QUEUE_DRIVER_HIGH, (uint32_t)(a >> 32));
  vmmio_write(base, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)u);
  vmmio_write(base, VMMIO_QUEUE_DEVICE_HIGH, (uint32_t)(u >> 32));
  vmmio_write(base, VMMIO_QUEUE_READY, 1);
  return 0;
}

int64_t virtq_run(struct virtq *q, const struct virtq_buf *bufs, unsigned n) {
  if (n == 0 || n > VIRTQ_SIZE) return -1;
  for (unsigned i = 0; i < n; i++) {
    q->desc[i].addr = (uint64_t)bufs[i].addr;
    q->desc[i].len = bufs[i].len;
    q->desc[i].flags = (uint16_t)((bufs[i].writable ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
    q->desc[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
  }
  volatile struct virtq_avail *av = &q->avail;
  av->ring[av->idx % VIRTQ_SIZE] = 0; /* the chain's head is descriptor 0 */
  mb();
  av->idx = (uint16_t)(av->idx + 1);
  mb();
  vmmio_write(q->base, VMMIO_QUEUE_NOTIFY, q->index);
  volatile struct virtq_used *used = &q->used;
  virtio_irq_wait(&used->idx, q->last_used);
  mb();
  uint32_t len = used->ring[q->last_used % VIRTQ_SIZE].len;
  q->last_used = (uint16_t)(q->last_used + 1);
  virtio_mmio_ack(q->base); /* InterruptStatus -> InterruptACK (virtio 1.2 §4.2.2): lowers the line */
  return len;
}
