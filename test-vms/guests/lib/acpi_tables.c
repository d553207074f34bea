/*
 * Walking the ACPI tables from the RSDP (ACPI 6.5): the XSDT (§5.2.8, 64-bit entries) when the
 * RSDP has revision >= 2 and an XSDT address, else the RSDT (§5.2.7, 32-bit entries); every table
 * either lists, then the DSDT named by the FADT (§5.2.9: X_DSDT, else DSDT). Each table's checksum
 * is verified (§5.2.6: all bytes sum to zero). Tables outside mapped memory count as bad.
 */
#include "acpi.h"
#include "fadt.h"
#include "phys.h"

static int sig_is(const char *s, const char *want) {
  return s[0] == want[0] && s[1] == want[1] && s[2] == want[2] && s[3] == want[3];
}

const struct acpi_sdt_header *acpi_table_at(uint64_t paddr) {
  if (!phys_ok(paddr, ACPI_SDT_HEADER_LENGTH)) return 0;
  const struct acpi_sdt_header *h = phys_ptr(paddr);
  if (h->length < ACPI_SDT_HEADER_LENGTH || h->length > ACPI_TABLE_MAX_LENGTH) return 0;
  if (!phys_ok(paddr, h->length)) return 0;
  return h;
}

/* Visit one table; returns it when it is readable (whatever its checksum), else 0. */
static const struct acpi_sdt_header *visit_table(uint64_t paddr, acpi_visit_fn *visit) {
  const struct acpi_sdt_header *h = acpi_table_at(paddr);
  if (!h) {
    if (visit) visit("????", 0, 0);
    return 0;
  }
  if (visit) visit(h->signature, h->length, acpi_sum(h, h->length) == 0);
  return h;
}

static uint64_t read_entry(const uint8_t *p, int wide) {
  uint64_t v = 0;
  for (int i = wide ? 7 : 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

void acpi_walk(const struct acpi_rsdp *rsdp, struct acpi_info *info, acpi_visit_fn *visit) {
  info->rsdp = rsdp;
  info->fadt = info->dsdt = info->madt = 0;
  if (!rsdp) return;

  int v2 = rsdp->revision >= 2;
  uint32_t rsdp_len = v2 ? ACPI_RSDP_V2_LENGTH : ACPI_RSDP_V1_LENGTH;
  int rsdp_ok = acpi_sum(rsdp, ACPI_RSDP_V1_LENGTH) == 0 && (!v2 || acpi_sum(rsdp, ACPI_RSDP_V2_LENGTH) == 0);
  if (visit) visit("RSDP", rsdp_len, rsdp_ok);

  int wide = v2 && rsdp->xsdt_address != 0;
  const struct acpi_sdt_header *root = visit_table(wide ? rsdp->xsdt_address : rsdp->rsdt_address, visit);
  if (!root) return;

  const uint8_t *entries = (const uint8_t *)root + ACPI_SDT_HEADER_LENGTH;
  uint32_t entry_size = wide ? 8 : 4;
  uint32_t n = (root->length - ACPI_SDT_HEADER_LENGTH) / entry_size;
  for (uint32_t i = 0; i < n; i++) {
    const struct acpi_sdt_header *t = visit_table(read_entry(entries + i * entry_size, wide), visit);
    if (!t) continue;
    if (sig_is(t->signature, "FACP") && !info->fadt) info->fadt = t;
    else if (sig_is(t->signature, "APIC") && !info->madt) info->madt = t;
  }
  if (info->fadt) {
    uint64_t dsdt = fadt_dsdt_address(info->fadt);
    if (dsdt) info->dsdt = visit_table(dsdt, visit);
  }
}
