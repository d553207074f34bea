/* Writing the report lines defined in report.h. */
#include "report.h"

#include "phys.h"
#include "print.h"

/* Longer than any command line a monitor passes (Linux's COMMAND_LINE_SIZE is 2048 on x86). */
#define CMDLINE_MAX 65536

void report_line(const char *s) {
  print_str(s);
  print_str("\n");
}

void report_error(const char *s) {
  print_str("ERROR ");
  report_line(s);
}

void report_cmdline(uint64_t paddr) {
  print_str("CMDLINE ");
  if (paddr) {
    uint64_t n = 0;
    while (n < CMDLINE_MAX && phys_ok(paddr, n + 1) && ((const char *)phys_ptr(paddr))[n]) n++;
    print_bytes(phys_ptr(paddr), n);
  }
  print_str("\nCMDLINE-END\n");
}

void report_acpi_table(const char sig[4], uint32_t len, int checksum_ok) {
  print_str("ACPI ");
  print_bytes(sig, 4);
  print_str(" len=");
  print_dec(len);
  print_str(checksum_ok ? " checksum=ok\n" : " checksum=bad\n");
}

void report_madt_cpus(unsigned n) {
  print_str("MADT CPUS ");
  print_dec(n);
  print_str("\n");
}
