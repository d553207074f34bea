/*
 * struct hvm_start_info, version 1, and its memory map entries: Xen
 * xen/include/public/arch-x86/hvm/start_info.h (the PVH boot ABI; Linux: arch/x86/include/xen/
 * interface/hvm/start_info.h). The structure's physical address arrives in EBX at the PVH entry.
 */
#ifndef GUEST_START_INFO_H
#define GUEST_START_INFO_H

#include <stdint.h>

#define HVM_START_MAGIC_VALUE 0x336ec578u

struct hvm_start_info {
  uint32_t magic;          /* 0x00: HVM_START_MAGIC_VALUE */
  uint32_t version;        /* 0x04: 0 or 1 */
  uint32_t flags;          /* 0x08: SIF_xxx */
  uint32_t nr_modules;     /* 0x0c */
  uint64_t modlist_paddr;  /* 0x10 */
  uint64_t cmdline_paddr;  /* 0x18: NUL-terminated ASCII */
  uint64_t rsdp_paddr;     /* 0x20 */
  /* version >= 1 */
  uint64_t memmap_paddr;   /* 0x28: struct hvm_memmap_table_entry[memmap_entries] */
  uint32_t memmap_entries; /* 0x30 */
  uint32_t reserved;       /* 0x34 */
} __attribute__((packed));

struct hvm_memmap_table_entry {
  uint64_t addr;     /* 0x00 */
  uint64_t size;     /* 0x08 */
  uint32_t type;     /* 0x10: E820 type numbers (XEN_HVM_MEMMAP_TYPE_*) */
  uint32_t reserved; /* 0x14 */
} __attribute__((packed));

/* The start_info at paddr when it lies in mapped memory and carries the magic; otherwise 0. */
const struct hvm_start_info *start_info_at(uint64_t paddr);
/* The memory map, with *count set, when present (version >= 1) and mapped; otherwise 0. */
const struct hvm_memmap_table_entry *start_info_memmap(const struct hvm_start_info *si, uint32_t *count);

#endif
