/* Reading the PVH hvm_start_info (layout and citation: start_info.h). */
#include "start_info.h"

#include "phys.h"

/* More entries than any sane map: refuse the table rather than read a runaway count. */
#define MEMMAP_MAX_ENTRIES 1024

const struct hvm_start_info *start_info_at(uint64_t paddr) {
  if (!phys_ok(paddr, sizeof(struct hvm_start_info))) return 0;
  const struct hvm_start_info *si = phys_ptr(paddr);
  return si->magic == HVM_START_MAGIC_VALUE ? si : 0;
}

const struct hvm_memmap_table_entry *start_info_memmap(const struct hvm_start_info *si, uint32_t *count) {
  *count = 0;
  if (si->version < 1 || si->memmap_entries == 0 || si->memmap_entries > MEMMAP_MAX_ENTRIES) return 0;
  uint64_t len = (uint64_t)si->memmap_entries * sizeof(struct hvm_memmap_table_entry);
  if (!phys_ok(si->memmap_paddr, len)) return 0;
  *count = si->memmap_entries;
  return phys_ptr(si->memmap_paddr);
}
