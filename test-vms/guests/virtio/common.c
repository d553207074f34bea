/* Start-up and hex output shared by the virtio test guests. */
#include "common.h"

#include "../lib/power.h"
#include "../lib/print.h"
#include "../lib/report.h"
#include "../lib/serial.h"
#include "../lib/start_info.h"
#include "devices.h"
#include "irq.h"

const char *virtio_guest_start(uint64_t boot_arg, struct acpi_info *acpi) {
  enum acpi_rsdp_source source;
  serial_init();
  const struct hvm_start_info *si = start_info_at(boot_arg);
  acpi_walk(acpi_find_rsdp(si ? si->rsdp_paddr : 0, &source), acpi, 0);
  virtio_irq_init(acpi);
  /* cmdline_paddr lies in low RAM (identity-mapped 4 GiB); 0 when absent. */
  if (!si || si->cmdline_paddr == 0 || si->cmdline_paddr >= 0x100000000ull) return 0;
  return (const char *)si->cmdline_paddr;
}

uint64_t virtio_open(const char *cmdline, uint32_t want_id) {
  uint32_t gsi = 0;
  uint64_t base = virtio_find_device(cmdline, want_id, &gsi);
  if (!base || virtio_irq_route(gsi) != 0) return 0;
  return base;
}

void virtio_guest_end(const struct acpi_info *acpi) {
  virtio_irq_report();
  report_line("DONE");
  guest_exit(acpi);
}

void print_hex_line(const char *prefix, const uint8_t *p, uint64_t n) {
  static const char digits[] = "0123456789abcdef";
  char pair[2];
  print_str(prefix);
  for (uint64_t i = 0; i < n; i++) {
    pair[0] = digits[p[i] >> 4];
    pair[1] = digits[p[i] & 15];
    print_bytes(pair, 2);
  }
  print_str("\n");
}
