/* Opening the disk and the BLK / BLK-STATUS lines (blk_report.h). */
#include "blk_report.h"

#include "../lib/print.h"
#include "../lib/report.h"
#include "common.h"
#include "virtio_mmio.h"

static char id[VIRTIO_BLK_ID_BYTES + 1];

int blk_open_and_report(struct virtio_blk *b, const char *cmdline) {
  uint64_t base = virtio_open(cmdline, VIRTIO_ID_BLOCK);
  if (!base) {
    report_error("no usable virtio-blk device on the command line");
    return -1;
  }
  if (virtio_blk_init(b, base) != 0) {
    report_error("virtio-blk init failed");
    return -1;
  }
  blk_do(b, "get_id", VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES);
  unsigned n = 0;
  while (n < VIRTIO_BLK_ID_BYTES && id[n] >= 0x20 && id[n] < 0x7f) n++;
  print_str("BLK capacity=");
  print_dec(b->capacity);
  print_str(" serial=");
  print_bytes(id, n);
  print_str("\n");
  return 0;
}

uint8_t blk_do(struct virtio_blk *b, const char *op, uint32_t type, uint64_t sector, volatile void *data, uint32_t len) {
  uint8_t s = virtio_blk_request(b, type, sector, data, len);
  print_str("BLK-STATUS op=");
  print_str(op);
  print_str(" sector=");
  print_dec(sector);
  print_str(" status=");
  print_dec(s);
  print_str("\n");
  return s;
}
