/* The ACPI part of an info guest's report (format: report.h): RSDP, each table, MADT CPUS. */
#include "acpi_report.h"

#include "madt.h"
#include "print.h"
#include "report.h"

void acpi_report(uint64_t hint, const char *hint_name, struct acpi_info *info) {
  enum acpi_rsdp_source source;
  const struct acpi_rsdp *rsdp = acpi_find_rsdp(hint, &source);
  if (!rsdp) {
    report_error("no RSDP (boot protocol hint and 0xE0000-0xFFFFF scan)");
    acpi_walk(0, info, 0);
    return;
  }
  print_str("RSDP addr=");
  print_hex((uint64_t)(uintptr_t)rsdp);
  print_str(" source=");
  print_str(source == RSDP_HINT ? hint_name : "scan");
  print_str(" revision=");
  print_dec(rsdp->revision);
  print_str("\n");
  acpi_walk(rsdp, info, report_acpi_table);
  if (info->madt) report_madt_cpus(madt_count_cpus(info->madt));
  else report_error("no MADT");
}
