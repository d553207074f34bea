/*
 * pvh-info: a PVH guest that reports what the monitor handed it (format: lib/report.h):
 * START_INFO, each MEM entry, CMDLINE, RSDP and each ACPI table, MADT CPUS, DONE; then S5.
 */
#include "lib/acpi_report.h"
#include "lib/guest.h"
#include "lib/power.h"
#include "lib/print.h"
#include "lib/report.h"
#include "lib/serial.h"
#include "lib/start_info.h"

static void report_start_info(const struct hvm_start_info *si) {
  print_str("START_INFO magic=");
  print_hex(si->magic);
  print_str(" version=");
  print_dec(si->version);
  print_str(" flags=");
  print_hex(si->flags);
  print_str(" nr_modules=");
  print_dec(si->nr_modules);
  print_str("\n");
}

static void report_memmap(const struct hvm_start_info *si) {
  uint32_t n;
  const struct hvm_memmap_table_entry *e = start_info_memmap(si, &n);
  if (!e) report_error("no memory map in start_info (version 0, empty or unmapped)");
  for (uint32_t i = 0; i < n; i++) {
    print_str("MEM addr=");
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
  const struct hvm_start_info *si = start_info_at(boot_arg);
  if (si) {
    report_start_info(si);
    report_memmap(si);
    report_cmdline(si->cmdline_paddr);
  } else {
    report_error("no hvm_start_info with the right magic at EBX");
  }
  acpi_report(si ? si->rsdp_paddr : 0, "start_info", &acpi);
  report_line("DONE");
  guest_exit(&acpi);
}
