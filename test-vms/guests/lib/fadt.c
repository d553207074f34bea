/* Reading the FADT (ACPI 6.5 §5.2.9; offsets in fadt.h). */
#include "fadt.h"

static uint32_t rd32(const struct acpi_sdt_header *t, uint32_t off) {
  const uint8_t *p = (const uint8_t *)t + off;
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const struct acpi_sdt_header *t, uint32_t off) {
  return (uint64_t)rd32(t, off) | (uint64_t)rd32(t, off + 4) << 32;
}

uint64_t fadt_dsdt_address(const struct acpi_sdt_header *fadt) {
  if (fadt->length >= FADT_X_DSDT + 8) {
    uint64_t x = rd64(fadt, FADT_X_DSDT);
    if (x) return x;
  }
  return fadt->length >= FADT_DSDT + 4 ? rd32(fadt, FADT_DSDT) : 0;
}

uint32_t fadt_flags(const struct acpi_sdt_header *fadt) {
  return fadt->length >= FADT_FLAGS + 4 ? rd32(fadt, FADT_FLAGS) : 0;
}

const struct acpi_gas *fadt_gas(const struct acpi_sdt_header *fadt, uint32_t offset) {
  if (fadt->length < offset + sizeof(struct acpi_gas)) return 0;
  const struct acpi_gas *g = (const struct acpi_gas *)((const uint8_t *)fadt + offset);
  return g->address ? g : 0;
}

uint64_t fadt_pm1_cnt_port(const struct acpi_sdt_header *fadt, int b) {
  const struct acpi_gas *g = fadt_gas(fadt, b ? FADT_X_PM1B_CNT_BLK : FADT_X_PM1A_CNT_BLK);
  if (g && g->space_id == ACPI_GAS_SYSTEM_IO) return g->address;
  uint32_t off = b ? FADT_PM1B_CNT_BLK : FADT_PM1A_CNT_BLK;
  return fadt->length >= off + 4 ? rd32(fadt, off) : 0;
}
