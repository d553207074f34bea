/* virtio-blk: init (§5.2.5) and one request per chain: header, data, status (§5.2.6). */
#include "blk.h"

#include "virtio_mmio.h"

static struct virtio_blk_req_hdr hdr;
static volatile uint8_t status;

int virtio_blk_init(struct virtio_blk *b, uint64_t base) {
  int64_t f = virtio_mmio_init(base, VIRTIO_ID_BLOCK,
                               1u << VIRTIO_BLK_F_RO | 1u << VIRTIO_BLK_F_FLUSH | 1u << VIRTIO_BLK_F_SIZE_MAX |
                                   1u << VIRTIO_BLK_F_SEG_MAX);
  if (f < 0) return -1;
  b->base = base;
  b->features = (uint32_t)f;
  uint32_t lo = vmmio_read(base, VMMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY);
  uint32_t hi = vmmio_read(base, VMMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY + 4);
  b->capacity = (uint64_t)hi << 32 | lo;
  b->size_max = 0xffffffffu;
  b->seg_max = VIRTQ_SIZE - 2; /* header and status take the other two descriptors */
  if (b->features & 1u << VIRTIO_BLK_F_SIZE_MAX) {
    uint32_t v = vmmio_read(base, VMMIO_CONFIG + VIRTIO_BLK_CFG_SIZE_MAX);
    if (v >= 512) b->size_max = v;
  }
  if (b->features & 1u << VIRTIO_BLK_F_SEG_MAX) {
    uint32_t v = vmmio_read(base, VMMIO_CONFIG + VIRTIO_BLK_CFG_SEG_MAX);
    if (v >= 1 && v < b->seg_max) b->seg_max = v;
  }
  if (virtq_setup(&b->q, base, 0) != 0) return -1;
  virtio_mmio_driver_ok(base);
  return 0;
}

uint8_t virtio_blk_request(struct virtio_blk *b, uint32_t type, uint64_t sector, volatile void *data, uint32_t len) {
  struct virtq_buf bufs[VIRTQ_SIZE];
  unsigned n = 0;
  int writable = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
  hdr.type = type;
  hdr.reserved = 0;
  hdr.sector = sector;
  status = 0xff;
  bufs[n++] = (struct virtq_buf){&hdr, sizeof hdr, 0};
  for (uint32_t off = 0; off < len;) {
    uint32_t seg = len - off < b->size_max ? len - off : b->size_max;
    if (n > b->seg_max) return 0xff; /* n - 1 data segments so far */
    bufs[n++] = (struct virtq_buf){(volatile uint8_t *)data + off, seg, writable};
    off += seg;
  }
  bufs[n++] = (struct virtq_buf){&status, 1, 1};
  if (virtq_run(&b->q, bufs, n) < 0) return 0xff;
  return status;
}
