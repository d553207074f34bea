/* virtio-blk: init (§5.2.5) and one request per chain: header, data, status (§5.2.6). */
#include "blk.h"

#include "virtio_mmio.h"

static struct virtio_blk_req_hdr hdr;
static volatile uint8_t status;

int virtio_blk_init(struct virtio_blk *b, uint64_t base) {
  int64_t f = virtio_mmio_init(base, VIRTIO_ID_BLOCK, 1u << VIRTIO_BLK_F_RO | 1u << VIRTIO_BLK_F_FLUSH);
  if (f < 0) return -1;
  b->base = base;
  b->features = (uint32_t)f;
  uint32_t lo = vmmio_read(base, VMMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY);
  uint32_t hi = vmmio_read(base, VMMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY + 4);
  b->capacity = (uint64_t)hi << 32 | lo;
  if (virtq_setup(&b->q, base, 0) != 0) return -1;
  virtio_mmio_driver_ok(base);
  return 0;
}

uint8_t virtio_blk_request(struct virtio_blk *b, uint32_t type, uint64_t sector, volatile void *data, uint32_t len) {
  struct virtq_buf bufs[3];
  unsigned n = 0;
  hdr.type = type;
  hdr.reserved = 0;
  hdr.sector = sector;
  status = 0xff;
  bufs[n++] = (struct virtq_buf){&hdr, sizeof hdr, 0};
  if (len) bufs[n++] = (struct virtq_buf){data, len, type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID};
  bufs[n++] = (struct virtq_buf){&status, 1, 1};
  if (virtq_run(&b->q, bufs, n) < 0) return 0xff;
  return status;
}
