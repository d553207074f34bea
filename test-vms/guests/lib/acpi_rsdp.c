/*
 * Finding the RSDP (ACPI 6.5 §5.2.5.1 "Finding the RSDP on IA-PC Systems": on a 16-byte boundary
 * in the BIOS read-only area 0xE0000-0xFFFFF, or where the boot protocol says: PVH's
 * hvm_start_info.rsdp_paddr, the zero page's acpi_rsdp_addr) and checking it (§5.2.5.3: the
 * checksum over the first 20 bytes, the extended checksum over the whole 36 for revision >= 2).
 */
#include "acpi.h"
#include "phys.h"

#define BIOS_AREA_START 0xe0000u
#define BIOS_AREA_END 0x100000u

uint8_t acpi_sum(const void *p, uint64_t len) {
  const uint8_t *b = p;
  uint8_t s = 0;
  for (uint64_t i = 0; i < len; i++) s += b[i];
  return s;
}

static int is_rsdp_signature(const char *s) {
  return s[0] == 'R' && s[1] == 'S' && s[2] == 'D' && s[3] == ' ' && s[4] == 'P' && s[5] == 'T' && s[6] == 'R' &&
         s[7] == ' ';
}

static const struct acpi_rsdp *rsdp_at(uint64_t paddr) {
  if (!phys_ok(paddr, ACPI_RSDP_V2_LENGTH)) return 0;
  const struct acpi_rsdp *r = phys_ptr(paddr);
  if (!is_rsdp_signature(r->signature) || acpi_sum(r, ACPI_RSDP_V1_LENGTH) != 0) return 0;
  return r;
}

const struct acpi_rsdp *acpi_find_rsdp(uint64_t hint, enum acpi_rsdp_source *source) {
  const struct acpi_rsdp *r = rsdp_at(hint);
  if (r) {
    *source = RSDP_HINT;
    return r;
  }
  for (uint64_t a = BIOS_AREA_START; a + ACPI_RSDP_V2_LENGTH <= BIOS_AREA_END; a += 16) {
    r = rsdp_at(a);
    if (r) {
      *source = RSDP_SCAN;
      return r;
    }
  }
  *source = RSDP_NONE;
  return 0;
}
