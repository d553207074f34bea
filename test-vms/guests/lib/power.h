#ifndef GUEST_POWER_H
#define GUEST_POWER_H

#include "acpi.h"

/* Enter S5 through the FADT; prints POWEROFF lines (report.h). Returns only if that failed. */
void acpi_poweroff(const struct acpi_info *info);
/* Reset through the FADT's RESET_REG with RESET_VALUE; prints a RESET line (report.h). Returns
 * only if that failed. */
void acpi_reset(const struct acpi_info *info);
/* Interrupts off, hlt forever. */
__attribute__((noreturn)) void halt_forever(void);
/* acpi_poweroff, then halt_forever: the end of every guest. */
__attribute__((noreturn)) void guest_exit(const struct acpi_info *info);

#endif
