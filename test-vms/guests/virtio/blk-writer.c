/*
 * blk-writer: a guest in the middle of disk writes, for snapshot and restore. It writes
 * WRITER_CHUNKS chunks of 4 KiB at sector WRITER_SECTOR onward (byte j of chunk i =
 * (i * 13 + j) & 0xff, then the chunk's index in its first 4 bytes), printing "BLK-WRITE i" after
 * each, paced by a short spin so a host can pause it between two; then FLUSH, reads every chunk
 * back and prints "BLK-VERIFY ok" or "BLK-VERIFY bad i" (the first chunk that differs), DONE, and
 * powers off.
 */
#include "../lib/guest.h"
#include "../lib/print.h"
#include "../lib/report.h"
#include "blk.h"
#include "blk_report.h"
#include "common.h"

#define WRITER_SECTOR 64
#define WRITER_CHUNKS 48
#define CHUNK_BYTES 4096
/* ~tens of ms on software-emulated KVM: a host sees the lines go by one by one. */
#define PACING_SPINS 20000

static uint8_t buf[CHUNK_BYTES] __attribute__((aligned(4096)));
static struct virtio_blk disk;

static void fill(uint32_t i) {
  for (uint32_t j = 0; j < CHUNK_BYTES; j++) buf[j] = (uint8_t)(i * 13 + j);
  buf[0] = (uint8_t)i;
  buf[1] = (uint8_t)(i >> 8);
  buf[2] = 0;
  buf[3] = 0;
}

static int matches(uint32_t i) {
  uint8_t want[4] = {(uint8_t)i, (uint8_t)(i >> 8), 0, 0};
  for (uint32_t j = 0; j < CHUNK_BYTES; j++) {
    uint8_t w = j < 4 ? want[j] : (uint8_t)(i * 13 + j);
    if (buf[j] != w) return 0;
  }
  return 1;
}

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  const char *cmdline = virtio_guest_start(boot_arg, &acpi);
  if (blk_open_and_report(&disk, cmdline) == 0) {
    for (uint32_t i = 0; i < WRITER_CHUNKS; i++) {
      fill(i);
      if (virtio_blk_request(&disk, VIRTIO_BLK_T_OUT, WRITER_SECTOR + i * (CHUNK_BYTES / 512), buf, CHUNK_BYTES) != 0) {
        report_error("a write failed");
        break;
      }
      print_str("BLK-WRITE ");
      print_dec(i);
      print_str("\n");
      for (volatile uint32_t s = 0; s < PACING_SPINS; s++) __asm__ volatile("pause");
    }
    blk_do(&disk, "flush", VIRTIO_BLK_T_FLUSH, 0, 0, 0);
    uint32_t bad = WRITER_CHUNKS;
    for (uint32_t i = 0; i < WRITER_CHUNKS && bad == WRITER_CHUNKS; i++) {
      for (uint32_t j = 0; j < CHUNK_BYTES; j++) buf[j] = 0;
      if (virtio_blk_request(&disk, VIRTIO_BLK_T_IN, WRITER_SECTOR + i * (CHUNK_BYTES / 512), buf, CHUNK_BYTES) != 0 ||
          !matches(i))
        bad = i;
    }
    if (bad == WRITER_CHUNKS) {
      report_line("BLK-VERIFY ok");
    } else {
      print_str("BLK-VERIFY bad ");
      print_dec(bad);
      print_str("\n");
    }
  }
  virtio_guest_end(&acpi);
}
