/*
 * The virtio-mmio devices named on the kernel command line as Linux's
 * `virtio_mmio.device=<size>@<baseaddr>:<irq>` (Documentation/admin-guide/kernel-parameters.txt),
 * which is how our monitor (and QEMU microvm with acpi=off) announce them.
 */
#ifndef VIRTIO_DEVICES_H
#define VIRTIO_DEVICES_H

#include <stdint.h>

/* Base address of the first transport on cmdline (NUL-terminated) with device id want_id, or 0;
 * *gsi gets its interrupt (the entry's `:<irq>`, 0 when absent). */
uint64_t virtio_find_device(const char *cmdline, uint32_t want_id, uint32_t *gsi);

#endif
