/*
 * echo: a PVH guest that prints ECHO-READY, writes back every byte it reads on COM1 until it has
 * read the line "quit" (ended by "\n" or "\r"), prints ECHO-BYE and powers off (lib/report.h).
 */
#include "lib/acpi_report.h"
#include "lib/guest.h"
#include "lib/power.h"
#include "lib/report.h"
#include "lib/serial.h"
#include "lib/start_info.h"

static int is_quit(const char *line, unsigned n) {
  return n == 4 && line[0] == 'q' && line[1] == 'u' && line[2] == 'i' && line[3] == 't';
}

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  enum acpi_rsdp_source source;
  char line[8];
  unsigned n = 0;
  serial_init();
  const struct hvm_start_info *si = start_info_at(boot_arg);
  acpi_walk(acpi_find_rsdp(si ? si->rsdp_paddr : 0, &source), &acpi, 0);
  report_line("ECHO-READY");
  for (;;) {
    unsigned char c = serial_getc();
    serial_putc((char)c);
    if (c == '\n' || c == '\r') {
      if (is_quit(line, n)) break;
      n = 0;
    } else if (n < sizeof line) {
      line[n++] = (char)c;
    } else {
      n = sizeof line; /* too long to be "quit" */
    }
  }
  report_line("ECHO-BYE");
  guest_exit(&acpi);
}
