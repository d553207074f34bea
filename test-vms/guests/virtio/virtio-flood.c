/*
 * flood: a hostile guest that keeps virtio-console's transmitq (virtio 1.2 §5.3.2, queue 1) full
 * for ever: every descriptor is a 64 KiB buffer, every head the device uses is put back at once
 * (§2.7.13), and the queue is notified whenever the device asks (VIRTQ_USED_F_NO_NOTIFY clear,
 * §2.7.10). Prints FLOOD-START, then never ends by itself: the host must be able to stop the
 * monitor (SIGTERM, SIGINT) while it runs.
 */
#include "../lib/guest.h"
#include "../lib/print.h"
#include "../lib/report.h"
#include "common.h"
#include "virtio_mmio.h"
#include "virtq.h"

#define CONSOLE_TRANSMITQ0 1
#define CHUNK 65536
#define VIRTQ_USED_F_NO_NOTIFY 1

static uint8_t chunk[CHUNK];
static struct virtq rx, tx;

static void mb(void) { __asm__ volatile("lock addl $0, (%%rsp)" ::: "memory", "cc"); }

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  const char *cmdline = virtio_guest_start(boot_arg, &acpi);
  uint64_t base = virtio_open(cmdline, VIRTIO_ID_CONSOLE);
  if (!base || virtio_mmio_init(base, VIRTIO_ID_CONSOLE, 0) < 0 || virtq_setup(&rx, base, 0) != 0 ||
      virtq_setup(&tx, base, CONSOLE_TRANSMITQ0) != 0) {
    report_error("no usable virtio-console device");
    virtio_guest_end(&acpi);
  }
  virtio_mmio_driver_ok(base);
  for (unsigned i = 0; i < CHUNK; i++) chunk[i] = (i % 64 == 63) ? '\n' : 'x';
  for (unsigned i = 0; i < VIRTQ_SIZE; i++) {
    tx.desc[i].addr = (uint64_t)chunk;
    tx.desc[i].len = CHUNK;
    tx.desc[i].flags = 0;
    tx.desc[i].next = 0;
  }
  volatile struct virtq_avail *av = &tx.avail;
  volatile struct virtq_used *used = &tx.used;
  uint16_t avail = 0, seen = 0;
  for (unsigned i = 0; i < VIRTQ_SIZE; i++) av->ring[avail++ % VIRTQ_SIZE] = (uint16_t)i;
  mb();
  av->idx = avail;
  mb();
  print_str("FLOOD-START\n");
  vmmio_write(base, VMMIO_QUEUE_NOTIFY, CONSOLE_TRANSMITQ0);
  for (;;) {
    uint16_t u = used->idx;
    if (u == seen) continue;
    mb();
    while (seen != u) {
      uint16_t head = (uint16_t)used->ring[seen % VIRTQ_SIZE].id;
      seen++;
      av->ring[avail++ % VIRTQ_SIZE] = (uint16_t)(head % VIRTQ_SIZE);
    }
    mb();
    av->idx = avail;
    mb();
    if (!(used->flags & VIRTQ_USED_F_NO_NOTIFY)) vmmio_write(base, VMMIO_QUEUE_NOTIFY, CONSOLE_TRANSMITQ0);
  }
}
