/*
 * struct boot_params, the Linux x86 "zero page": offsets from Documentation/arch/x86/zero-page.rst
 * and the setup header's from Documentation/arch/x86/boot.rst (arch/x86/include/uapi/asm/bootparam.h).
 * Under the 64-bit boot protocol its physical address arrives in RSI.
 */
#ifndef GUEST_ZEROPAGE_H
#define GUEST_ZEROPAGE_H

#include <stdint.h>

#define ZP_ACPI_RSDP_ADDR 0x070    /* u64 */
#define ZP_EXT_CMD_LINE_PTR 0x0c8  /* u32: bits 63:32 of the command line's address */
#define ZP_E820_ENTRIES 0x1e8      /* u8 */
#define ZP_HDR_CMD_LINE_PTR 0x228  /* u32 (setup_header.cmd_line_ptr) */
#define ZP_E820_TABLE 0x2d0        /* struct boot_e820_entry[128] */
#define ZP_E820_MAX 128
#define ZP_SIZE 0x1000

struct boot_e820_entry {
  uint64_t addr; /* 0x00 */
  uint64_t size; /* 0x08 */
  uint32_t type; /* 0x10 */
} __attribute__((packed));

/* The zero page at paddr when it lies in mapped memory; otherwise 0. */
const uint8_t *zeropage_at(uint64_t paddr);
/* The E820 table, with *count set (at most ZP_E820_MAX). */
const struct boot_e820_entry *zeropage_e820(const uint8_t *zp, uint32_t *count);
uint64_t zeropage_cmdline(const uint8_t *zp);
uint64_t zeropage_rsdp(const uint8_t *zp);

#endif
