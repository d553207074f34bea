/* What every virtio test guest shares: start-up (COM1, ACPI, command line) and hex output. */
#ifndef VIRTIO_COMMON_H
#define VIRTIO_COMMON_H

#include <stdint.h>

#include "../lib/acpi.h"

/* serial_init, the ACPI walk (for power-off) and the command line from hvm_start_info (or 0). */
const char *virtio_guest_start(uint64_t boot_arg, struct acpi_info *acpi);
/* "<prefix><2 lowercase hex digits per byte>\n". */
void print_hex_line(const char *prefix, const uint8_t *p, uint64_t n);

#endif
