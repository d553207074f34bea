/*
 * exits: a PVH guest for the exit-cost benchmark: prints EXITS-BEGIN n=100000, writes I/O port
 * 0x80 (the POST diagnostic port, which a monitor handles in userspace) that many times, prints
 * EXITS-END and powers off (lib/report.h).
 */
#include "lib/acpi_report.h"
#include "lib/guest.h"
#include "lib/io.h"
#include "lib/power.h"
#include "lib/print.h"
#include "lib/report.h"
#include "lib/serial.h"
#include "lib/start_info.h"

#define EXITS 100000
#define EXIT_PORT 0x80

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  enum acpi_rsdp_source source;
  serial_init();
  const struct hvm_start_info *si = start_info_at(boot_arg);
  acpi_walk(acpi_find_rsdp(si ? si->rsdp_paddr : 0, &source), &acpi, 0);
  print_str("EXITS-BEGIN n=");
  print_dec(EXITS);
  print_str("\n");
  for (unsigned i = 0; i < EXITS; i++) outb(EXIT_PORT, (uint8_t)i);
  report_line("EXITS-END");
  guest_exit(&acpi);
}
