/* What every virtio test guest shares: start-up (COM1, ACPI, command line) and hex output. */
#ifndef VIRTIO_COMMON_H
#define VIRTIO_COMMON_H

#include <stdint.h>

#include "../lib/acpi.h"

/* serial_init, the ACPI walk (for power-off and the MADT), interrupts (irq.h: IDT, LAPIC) and the
 * command line from hvm_start_info (or 0). acpi must live until the guest ends. */
const char *virtio_guest_start(uint64_t boot_arg, struct acpi_info *acpi);
/* The first transport with device id want_id on cmdline, its GSI routed to the driver's vector
 * (irq.h); 0 when there is none or it cannot be routed. */
uint64_t virtio_open(const char *cmdline, uint32_t want_id);
/* IRQS and DONE lines, then power off. */
__attribute__((noreturn)) void virtio_guest_end(const struct acpi_info *acpi);
/* "<prefix><2 lowercase hex digits per byte>\n". */
void print_hex_line(const char *prefix, const uint8_t *p, uint64_t n);

#endif
