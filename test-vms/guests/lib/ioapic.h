/*
 * The I/O APIC (Intel 82093AA I/O APIC datasheet: §3.0 the IOREGSEL/IOWIN indirect registers,
 * §3.2.2 IOAPICVER, §3.2.4 the I/O redirection table), found through the MADT's I/O APIC
 * entries (ACPI 6.5 §5.2.12.3, Table 5.24), each serving GSIs from its GSI base.
 */
#ifndef GUEST_IOAPIC_H
#define GUEST_IOAPIC_H

#include <stdint.h>

#include "acpi.h"

/* Routes gsi to `vector` on the CPU with APIC ID dest: fixed delivery, physical destination,
 * active high, edge triggered, unmasked. The I/O APIC serving gsi comes from madt (or, when madt
 * is 0, the PC's one at 0xFEC00000 with GSI base 0). Returns 0, or -1 when no I/O APIC has
 * that input. */
int ioapic_route(const struct acpi_sdt_header *madt, uint32_t gsi, uint8_t vector, uint8_t dest);

#endif
