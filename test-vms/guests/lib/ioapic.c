/* I/O APIC redirection entries (ioapic.h; 82093AA datasheet §3.2.4; ACPI 6.5 §5.2.12.3). */
#include "ioapic.h"

#define IOAPIC_DEFAULT_BASE 0xfec00000u
#define IOREGSEL 0x00 /* §3.1.1 */
#define IOWIN 0x10    /* §3.1.2 */
#define IOAPICVER 0x01
#define IOAPICVER_MAX_REDIR_SHIFT 16 /* bits 23:16: number of entries - 1 */
#define IOREDTBL(pin) (0x10 + 2 * (pin))

/* Redirection entry, low dword (§3.2.4): vector 7:0, delivery mode 10:8 (000 fixed), destination
 * mode 11 (0 physical), polarity 13 (0 high), trigger 15 (0 edge), mask 16. High dword: the
 * destination APIC ID in bits 63:56, i.e. 31:24 of the high dword. */
#define REDIR_DEST_SHIFT 24

#define MADT_ENTRIES_OFFSET 44
#define MADT_TYPE_IOAPIC 1
#define MADT_IOAPIC_LENGTH 12
#define MADT_IOAPIC_ADDRESS 4  /* u32 */
#define MADT_IOAPIC_GSI_BASE 8 /* u32 */

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t ioapic_read(uint32_t base, uint32_t reg) {
  *(volatile uint32_t *)(uintptr_t)(base + IOREGSEL) = reg;
  return *(volatile uint32_t *)(uintptr_t)(base + IOWIN);
}
static void ioapic_write(uint32_t base, uint32_t reg, uint32_t v) {
  *(volatile uint32_t *)(uintptr_t)(base + IOREGSEL) = reg;
  *(volatile uint32_t *)(uintptr_t)(base + IOWIN) = v;
}

/* Programs the entry when gsi is one of the inputs of the I/O APIC at base; 0 on success. */
static int try_route(uint32_t base, uint32_t gsi_base, uint32_t gsi, uint8_t vector, uint8_t dest) {
  /* The register window must lie in the identity-mapped 4 GiB (always true of a u32 address
   * below the top 32 bytes). */
  if (base == 0 || base > 0xffffffe0u || gsi < gsi_base) return -1;
  uint32_t pins = ((ioapic_read(base, IOAPICVER) >> IOAPICVER_MAX_REDIR_SHIFT) & 0xff) + 1;
  uint32_t pin = gsi - gsi_base;
  if (pin >= pins) return -1;
  ioapic_write(base, IOREDTBL(pin), 1u << 16); /* masked while it changes */
  ioapic_write(base, IOREDTBL(pin) + 1, (uint32_t)dest << REDIR_DEST_SHIFT);
  ioapic_write(base, IOREDTBL(pin), vector);
  return 0;
}

int ioapic_route(const struct acpi_sdt_header *madt, uint32_t gsi, uint8_t vector, uint8_t dest) {
  if (!madt) return try_route(IOAPIC_DEFAULT_BASE, 0, gsi, vector, dest);
  const uint8_t *p = (const uint8_t *)madt;
  uint32_t end = madt->length; /* acpi_table_at checked it is mapped */
  for (uint32_t off = MADT_ENTRIES_OFFSET; off + 2 <= end;) {
    uint8_t type = p[off], len = p[off + 1];
    if (len < 2 || off + len > end) break; /* a malformed entry ends the walk */
    if (type == MADT_TYPE_IOAPIC && len >= MADT_IOAPIC_LENGTH &&
        try_route(rd32(p + off + MADT_IOAPIC_ADDRESS), rd32(p + off + MADT_IOAPIC_GSI_BASE), gsi, vector, dest) == 0)
      return 0;
    off += len;
  }
  return -1;
}
