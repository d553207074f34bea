/*
 * linux64-info: a guest entered through the Linux 64-bit boot protocol (zero page in RSI) that
 * reports what the monitor handed it (format: lib/report.h): each E820 entry, CMDLINE, RSDP and
 * each ACPI table, MADT CPUS, DONE; then S5.
 */
#include "lib/acpi_report.h"
#include "lib/guest.h"
#include "lib/power.h"
#include "lib/print.h"
#include "lib/report.h"
#include "lib/serial.h"
#include "lib/zeropage.h"

static void report_e820(const uint8_t *zp) {
  uint32_t n;
  const struct boot_e820_entry *e = zeropage_e820(zp, &n);
  if (n == 0) report_error("the zero page has no E820 entries");
  for (uint32_t i = 0; i < n; i++) {
    print_str("E820 addr=");
    print_hex(e[i].addr);
    print_str(" size=");
    print_hex(e[i].size);
    print_str(" type=");
    print_dec(e[i].type);
    print_str("\n");
  }
}

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  serial_init();
  const uint8_t *zp = zeropage_at(boot_arg);
  if (zp) {
    report_e820(zp);
    report_cmdline(zeropage_cmdline(zp));
  } else {
    report_error("no zero page at RSI");
  }
  acpi_report(zp ? zeropage_rsdp(zp) : 0, "zeropage", &acpi);
  report_line("DONE");
  guest_exit(&acpi);
}
