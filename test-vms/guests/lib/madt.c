/*
 * Counting CPUs in the MADT (ACPI 6.5 §5.2.12, Table 5.19: the header, then Local Interrupt
 * Controller Address (u32) and Flags (u32), then entries of {type u8, length u8, ...}):
 * type 0, Processor Local APIC (§5.2.12.2, Table 5.22: flags u32 at offset 4, bit 0 Enabled) and
 * type 9, Processor Local x2APIC (§5.2.12.12, Table 5.35: flags u32 at offset 8, bit 0 Enabled).
 */
#include "madt.h"

#define MADT_ENTRIES_OFFSET 44
#define MADT_TYPE_LOCAL_APIC 0
#define MADT_TYPE_LOCAL_X2APIC 9
#define LOCAL_APIC_FLAGS 4
#define LOCAL_X2APIC_FLAGS 8
#define LAPIC_ENABLED 1u

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

unsigned madt_count_cpus(const struct acpi_sdt_header *madt) {
  const uint8_t *base = (const uint8_t *)madt;
  uint32_t end = madt->length; /* acpi_table_at checked it is mapped */
  unsigned cpus = 0;
  for (uint32_t off = MADT_ENTRIES_OFFSET; off + 2 <= end;) {
    uint8_t type = base[off], len = base[off + 1];
    if (len < 2 || off + len > end) break; /* a malformed entry ends the walk */
    if (type == MADT_TYPE_LOCAL_APIC && len >= LOCAL_APIC_FLAGS + 4) {
      if (rd32(base + off + LOCAL_APIC_FLAGS) & LAPIC_ENABLED) cpus++;
    } else if (type == MADT_TYPE_LOCAL_X2APIC && len >= LOCAL_X2APIC_FLAGS + 4) {
      if (rd32(base + off + LOCAL_X2APIC_FLAGS) & LAPIC_ENABLED) cpus++;
    }
    off += len;
  }
  return cpus;
}
