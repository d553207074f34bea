/*
 * blk-flush-wait: the guest side of "flushed data survives SIGKILL of the monitor". Writes
 * FLUSH_WAIT_BYTES of a known pattern (little-endian 32-bit word i = i * 2654435761 ^ 0x5a5a5a5a)
 * at sector FLUSH_WAIT_SECTOR of the first virtio-blk disk in one request, FLUSHes (virtio 1.2
 * §5.2.6.1: data the device has completed writes for must be on stable storage), prints the
 * FLUSH's BLK-STATUS line the moment the FLUSH completes, then FLUSH-WAIT and halts forever with
 * interrupts off: no power-off, so the monitor is still alive when the host kills it.
 * The host side is test-vms/src/disk/flush-wait.ts.
 */
#include "../lib/guest.h"
#include "../lib/power.h"
#include "../lib/report.h"
#include "blk_report.h"
#include "common.h"

#define FLUSH_WAIT_SECTOR 24
#define FLUSH_WAIT_BYTES 65536

static uint32_t buf[FLUSH_WAIT_BYTES / 4] __attribute__((aligned(4096)));
static struct virtio_blk disk;

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  const char *cmdline = virtio_guest_start(boot_arg, &acpi);
  if (blk_open_and_report(&disk, cmdline) != 0) virtio_guest_end(&acpi);
  /* 32-bit stores: a byte loop in ring 0 is slow on software-emulated KVM. */
  for (uint32_t i = 0; i < FLUSH_WAIT_BYTES / 4; i++) buf[i] = (i * 2654435761u) ^ 0x5a5a5a5au;
  if (blk_do(&disk, "write", VIRTIO_BLK_T_OUT, FLUSH_WAIT_SECTOR, buf, FLUSH_WAIT_BYTES) != VIRTIO_BLK_S_OK ||
      blk_do(&disk, "flush", VIRTIO_BLK_T_FLUSH, 0, 0, 0) != VIRTIO_BLK_S_OK) {
    report_error("the write or the FLUSH failed");
    virtio_guest_end(&acpi);
  }
  report_line("FLUSH-WAIT");
  halt_forever();
}
