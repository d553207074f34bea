/*
 * blk-reboot: a boot counter in byte 0 of the first virtio-blk disk's sector 0, for a monitor's
 * reset path. Prints BLK, then BOOT-COUNT with the byte as it finds it. On the first boot (0) it
 * writes 1, FLUSHes and resets through the FADT's reset register (ACPI 6.5 §4.8.3.6); on any
 * later boot it powers off. So a monitor that reboots on reset runs it twice and ends with
 * poweroff; one that stops on reset (no-reboot) runs it once.
 */
#include "../lib/guest.h"
#include "../lib/power.h"
#include "../lib/print.h"
#include "../lib/report.h"
#include "blk_report.h"
#include "common.h"

#define SECTOR 512u

static uint8_t buf[SECTOR] __attribute__((aligned(4096)));
static struct virtio_blk disk;

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  const char *cmdline = virtio_guest_start(boot_arg, &acpi);
  if (blk_open_and_report(&disk, cmdline) == 0 && blk_do(&disk, "read", VIRTIO_BLK_T_IN, 0, buf, SECTOR) == 0) {
    print_str("BOOT-COUNT ");
    print_dec(buf[0]);
    print_str("\n");
    if (buf[0] == 0) {
      buf[0] = 1;
      if (blk_do(&disk, "write", VIRTIO_BLK_T_OUT, 0, buf, SECTOR) == 0 &&
          blk_do(&disk, "flush", VIRTIO_BLK_T_FLUSH, 0, 0, 0) == 0)
        acpi_reset(&acpi);
    }
  }
  virtio_guest_end(&acpi);
}
