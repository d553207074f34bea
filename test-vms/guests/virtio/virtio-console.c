/*
 * console: writes "HVC hello from the guest\n" to virtio-console port 0 (virtio 1.2 §5.3.2:
 * transmitq0 is queue 1; no MULTIPORT), prints `HVC-STATUS used=<len>`, DONE; then powers off.
 */
#include "../lib/guest.h"
#include "../lib/print.h"
#include "../lib/report.h"
#include "common.h"
#include "virtio_mmio.h"
#include "virtq.h"

#define CONSOLE_TRANSMITQ0 1

static const char line[] = "HVC hello from the guest\n";
static struct virtq rx, tx;

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  const char *cmdline = virtio_guest_start(boot_arg, &acpi);
  uint64_t base = virtio_open(cmdline, VIRTIO_ID_CONSOLE);
  if (!base || virtio_mmio_init(base, VIRTIO_ID_CONSOLE, 0) < 0 || virtq_setup(&rx, base, 0) != 0 ||
      virtq_setup(&tx, base, CONSOLE_TRANSMITQ0) != 0) {
    report_error("no usable virtio-console device");
  } else {
    virtio_mmio_driver_ok(base);
    struct virtq_buf b = {line, sizeof line - 1, 0};
    int64_t n = virtq_run(&tx, &b, 1);
    print_str("HVC-STATUS used=");
    print_dec((uint64_t)(n < 0 ? 0 : n));
    print_str("\n");
  }
  virtio_guest_end(&acpi);
}
