/* virtio-blk requests (virtio 1.2 §5.2.6 "Device Operation"), one at a time on requestq 0. */
#ifndef VIRTIO_BLK_H
#define VIRTIO_BLK_H

#include <stdint.h>

#include "virtq.h"

#define VIRTIO_BLK_F_SIZE_MAX 1 /* §5.2.3: size_max is the largest segment */
#define VIRTIO_BLK_F_SEG_MAX 2  /* §5.2.3: seg_max is the most data segments per request */
#define VIRTIO_BLK_F_RO 5     /* §5.2.3 */
#define VIRTIO_BLK_F_FLUSH 9  /* §5.2.3 */
#define VIRTIO_BLK_CFG_CAPACITY 0x00 /* §5.2.4: le64 capacity in 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX 0x08 /* §5.2.4: le32 */
#define VIRTIO_BLK_CFG_SEG_MAX 0x0c  /* §5.2.4: le32 */

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_ID_BYTES 20

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

struct virtio_blk_req_hdr { /* §5.2.6: le32 type, le32 reserved, le64 sector */
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};

struct virtio_blk {
  uint64_t base;
  uint64_t capacity;
  uint32_t features;
  uint32_t size_max; /* largest data segment in bytes (0xffffffff when the device sets no limit) */
  uint32_t seg_max;  /* most data segments per request (at most VIRTQ_SIZE - 2) */
  struct virtq q;
};

/* Initialises the device at base (features: VERSION_1, and FLUSH, RO, SIZE_MAX, SEG_MAX if
 * offered); 0 on success. */
int virtio_blk_init(struct virtio_blk *b, uint64_t base);
/* One request; data may be 0 with len 0 (FLUSH). The data goes in as many descriptors as size_max
 * needs (at most seg_max). Returns the status byte, or 0xff on a driver error (too many segments). */
uint8_t virtio_blk_request(struct virtio_blk *b, uint32_t type, uint64_t sector, volatile void *data, uint32_t len);

#endif
