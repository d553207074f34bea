#ifndef GUEST_MADT_H
#define GUEST_MADT_H

#include "acpi.h"

/* Enabled processors in the MADT: Processor Local APIC and Processor Local x2APIC entries. */
unsigned madt_count_cpus(const struct acpi_sdt_header *madt);

#endif
