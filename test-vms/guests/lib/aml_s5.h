#ifndef GUEST_AML_S5_H
#define GUEST_AML_S5_H

#include "acpi.h"

/* SLP_TYPa of the \_S5_ package in the DSDT's AML, or -1 when there is none. */
int aml_s5_slp_typ(const struct acpi_sdt_header *dsdt);

#endif
