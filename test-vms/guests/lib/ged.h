/*
 * The monitor's Generic Event Device (ACPI 6.5 §5.6.9): its interrupt and its event register, as
 * the DSDT's \_SB_.GED0 describes them (packages/vmm/src/arch/x86_64/acpi/registers.ts holds the
 * same numbers; a freestanding guest reads them from here instead of running AML).
 */
#ifndef GUEST_GED_H
#define GUEST_GED_H

/* The GED's GSI: edge, active high. */
#define GED_GSI 23
/* Reading it returns the events raised since the last read and clears them. */
#define GED_EVENT_PORT 0x603
/* The power button was pressed. */
#define GED_EVENT_POWER_BUTTON 0x01

#endif
