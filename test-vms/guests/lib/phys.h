/*
 * Guest-physical memory as the guest sees it: the boot tables (boot-tables.S) identity-map the
 * first 4 GiB, so a physical address below PHYS_LIMIT is also a pointer. Everything the monitor
 * hands us (addresses, lengths, counts) goes through phys_ok() before it is read.
 */
#ifndef GUEST_PHYS_H
#define GUEST_PHYS_H

#include <stdint.h>

#define PHYS_LIMIT 0x100000000ull

/* True when [addr, addr + len) lies inside the identity-mapped range and does not start at 0. */
static inline int phys_ok(uint64_t addr, uint64_t len) {
  return addr != 0 && addr < PHYS_LIMIT && len <= PHYS_LIMIT - addr;
}

static inline const void *phys_ptr(uint64_t addr) { return (const void *)(uintptr_t)addr; }

#endif
