#ifndef GUEST_ACPI_REPORT_H
#define GUEST_ACPI_REPORT_H

#include <stdint.h>

#include "acpi.h"

/* Find the RSDP (hint first; hint_name is how the RSDP line names it), walk and report the tables. */
void acpi_report(uint64_t hint, const char *hint_name, struct acpi_info *info);

#endif
