/*
 * Lines of the virtio-blk guests (format of lib/report.h):
 *   BLK capacity=<sectors, decimal> serial=<GET_ID bytes up to the first NUL>
 *   BLK-STATUS op=write|flush|read|get_id sector=<decimal> status=<decimal>
 *   BLK-SHA256 <64 lowercase hex digits of what was read>
 */
#ifndef VIRTIO_BLK_REPORT_H
#define VIRTIO_BLK_REPORT_H

#include <stdint.h>

#include "blk.h"

/* Finds the disk (first virtio-blk on the command line), inits it, prints the BLK line; 0 on success. */
int blk_open_and_report(struct virtio_blk *b, const char *cmdline);
/* A request plus its BLK-STATUS line; returns the status. */
uint8_t blk_do(struct virtio_blk *b, const char *op, uint32_t type, uint64_t sector, volatile void *data, uint32_t len);

#endif
