/*
 * blk-read: reads the first READ_BYTES of the first virtio-blk disk, prints BLK-SHA256 of them,
 * then tries to write them back to sector 0 and prints that request's BLK-STATUS (a read-only
 * disk answers VIRTIO_BLK_S_IOERR = 1), DONE; then powers off.
 */
#include "../lib/guest.h"
#include "../lib/report.h"
#include "blk_report.h"
#include "common.h"
#include "sha256.h"

#define READ_BYTES 16384

static uint8_t buf[READ_BYTES] __attribute__((aligned(4096)));
static struct virtio_blk disk;

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  uint8_t digest[32];
  const char *cmdline = virtio_guest_start(boot_arg, &acpi);
  if (blk_open_and_report(&disk, cmdline) == 0) {
    blk_do(&disk, "read", VIRTIO_BLK_T_IN, 0, buf, READ_BYTES);
    sha256(buf, READ_BYTES, digest);
    print_hex_line("BLK-SHA256 ", digest, 32);
    blk_do(&disk, "write", VIRTIO_BLK_T_OUT, 0, buf, READ_BYTES);
  }
  virtio_guest_end(&acpi);
}
