/*
 * blk-pattern: writes PATTERN_BYTES of a known pattern (byte i of the run = (i * 7 + i / 512) & 0xff)
 * at sector PATTERN_SECTOR of the first virtio-blk disk, FLUSHes, reads them back into a zeroed
 * buffer, and prints BLK, BLK-STATUS, BLK-SHA256 of what it read, DONE; then powers off.
 */
#include "../lib/guest.h"
#include "../lib/report.h"
#include "blk_report.h"
#include "common.h"
#include "sha256.h"

#define PATTERN_SECTOR 8
#define PATTERN_BYTES 16384 /* small: ring-0 hashing is slow on emulated KVM */

static uint8_t buf[PATTERN_BYTES] __attribute__((aligned(4096)));
static struct virtio_blk disk;

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  uint8_t digest[32];
  const char *cmdline = virtio_guest_start(boot_arg, &acpi);
  if (blk_open_and_report(&disk, cmdline) == 0) {
    for (uint32_t i = 0; i < PATTERN_BYTES; i++) buf[i] = (uint8_t)(i * 7 + i / 512);
    blk_do(&disk, "write", VIRTIO_BLK_T_OUT, PATTERN_SECTOR, buf, PATTERN_BYTES);
    blk_do(&disk, "flush", VIRTIO_BLK_T_FLUSH, 0, 0, 0);
    for (uint32_t i = 0; i < PATTERN_BYTES; i++) buf[i] = 0;
    blk_do(&disk, "read", VIRTIO_BLK_T_IN, PATTERN_SECTOR, buf, PATTERN_BYTES);
    sha256(buf, PATTERN_BYTES, digest);
    print_hex_line("BLK-SHA256 ", digest, 32);
  }
  virtio_guest_end(&acpi);
}
