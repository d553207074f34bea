/* Reading the Linux zero page (offsets and citation: zeropage.h). */
#include "zeropage.h"

#include "phys.h"

static uint32_t rd32(const uint8_t *p) { return *(const uint32_t *)p; }
static uint64_t rd64(const uint8_t *p) { return *(const uint64_t *)p; }

const uint8_t *zeropage_at(uint64_t paddr) { return phys_ok(paddr, ZP_SIZE) ? phys_ptr(paddr) : 0; }

const struct boot_e820_entry *zeropage_e820(const uint8_t *zp, uint32_t *count) {
  uint32_t n = zp[ZP_E820_ENTRIES];
  *count = n > ZP_E820_MAX ? ZP_E820_MAX : n;
  return (const struct boot_e820_entry *)(zp + ZP_E820_TABLE);
}

uint64_t zeropage_cmdline(const uint8_t *zp) {
  return ((uint64_t)rd32(zp + ZP_EXT_CMD_LINE_PTR) << 32) | rd32(zp + ZP_HDR_CMD_LINE_PTR);
}

uint64_t zeropage_rsdp(const uint8_t *zp) { return rd64(zp + ZP_ACPI_RSDP_ADDR); }
