/*
 * Interrupt-driven completion for the virtio guests: the device's GSI (from its
 * `virtio_mmio.device=...:GSI` entry) is routed through the I/O APIC to VIRTIO_VECTOR on this
 * CPU; a wait sleeps in `sti; hlt` until the used ring moves, each wait watched by a one-shot LAPIC
 * timer. Lines (format of lib/report.h):
 *   IRQS n=<device interrupts taken>        (virtio_irq_report, before DONE)
 *   VIRTQ-TIMEOUT                           (no used-ring progress within the watchdog; an ERROR
 *                                            line follows and the guest powers off)
 *   VIRTQ-STATE used=U last=L irqs=N tsc-waited=T  (after VIRTQ-TIMEOUT: the used index against
 *                                            the one waited on, interrupts taken, TSC cycles waited)
 */
#ifndef VIRTIO_IRQ_H
#define VIRTIO_IRQ_H

#include <stdint.h>

#include "../lib/acpi.h"

#define VIRTIO_VECTOR 0x30
#define WATCHDOG_VECTOR 0x31
#define SPURIOUS_VECTOR 0xff
/* How long one wait may take before the guest gives up. Generous: a loaded host under TCG, and the
 * device's I/O thread, which in the tests loads from the TypeScript sources (7.5-10 s measured in
 * the nested-KVM VM), may come up after the guest's first kick. */
#define VIRTQ_WATCHDOG_MS 30000
/* How long virtio_irq_report waits for an interrupt still on its way when none was taken. */
#define REPORT_WAIT_MS 200

/* IDT, LAPIC on; acpi is kept for the MADT (I/O APICs) and for powering off on a timeout. */
void virtio_irq_init(const struct acpi_info *acpi);
/* Routes gsi (edge, active high) to VIRTIO_VECTOR on this CPU; 0, or -1 with an ERROR line. */
int virtio_irq_route(uint32_t gsi);
/* Sleeps until *idx != last (the used ring's idx); on a watchdog expiry prints VIRTQ-TIMEOUT and
 * an ERROR line and powers off. Returns with interrupts disabled. */
void virtio_irq_wait(const volatile uint16_t *idx, uint16_t last);
/* Prints `IRQS n=<count>` (after taking any interrupt still pending; with none taken yet, it
 * waits up to REPORT_WAIT_MS for one). */
void virtio_irq_report(void);

#endif
