/*
 * ACPI structures the guests read (ACPI Specification 6.5):
 *   RSDP                          §5.2.5.3, Table 5.3
 *   System Description Table header §5.2.6, Table 5.4
 *   Generic Address Structure     §5.2.3.2, Table 5.1
 * and what a walk over the tables found (acpi_tables.c).
 */
#ifndef GUEST_ACPI_H
#define GUEST_ACPI_H

#include <stdint.h>

struct acpi_rsdp {
  char signature[8];     /* 0x00: "RSD PTR " */
  uint8_t checksum;      /* 0x08: over the first 20 bytes */
  char oem_id[6];        /* 0x09 */
  uint8_t revision;      /* 0x0f: 0 = ACPI 1.0 (20 bytes), 2 = ACPI 2.0+ (36 bytes) */
  uint32_t rsdt_address; /* 0x10 */
  uint32_t length;       /* 0x14: revision >= 2 */
  uint64_t xsdt_address; /* 0x18 */
  uint8_t ext_checksum;  /* 0x20: over the whole length */
  uint8_t reserved[3];   /* 0x21 */
} __attribute__((packed));

#define ACPI_RSDP_V1_LENGTH 20
#define ACPI_RSDP_V2_LENGTH 36

struct acpi_sdt_header {
  char signature[4];     /* 0x00 */
  uint32_t length;       /* 0x04: of the whole table, header included */
  uint8_t revision;      /* 0x08 */
  uint8_t checksum;      /* 0x09: all bytes of the table sum to 0 */
  char oem_id[6];        /* 0x0a */
  char oem_table_id[8];  /* 0x10 */
  uint32_t oem_revision; /* 0x18 */
  uint32_t creator_id;   /* 0x1c */
  uint32_t creator_revision; /* 0x20 */
} __attribute__((packed));

#define ACPI_SDT_HEADER_LENGTH 36
/* Bigger than any table a monitor builds for these guests: refuse it rather than sum gigabytes. */
#define ACPI_TABLE_MAX_LENGTH (1u << 20)

struct acpi_gas {
  uint8_t space_id;     /* 0x00: ACPI_GAS_* */
  uint8_t bit_width;    /* 0x01 */
  uint8_t bit_offset;   /* 0x02 */
  uint8_t access_size;  /* 0x03: 0 undefined, 1 byte, 2 word, 3 dword, 4 qword */
  uint64_t address;     /* 0x04 */
} __attribute__((packed));

#define ACPI_GAS_SYSTEM_MEMORY 0
#define ACPI_GAS_SYSTEM_IO 1

/* Where acpi_find_rsdp found the RSDP. */
enum acpi_rsdp_source { RSDP_NONE, RSDP_HINT, RSDP_SCAN };

/* What acpi_walk found. Pointers are 0 when the table is absent or unreadable. */
struct acpi_info {
  const struct acpi_rsdp *rsdp;
  const struct acpi_sdt_header *fadt;
  const struct acpi_sdt_header *dsdt;
  const struct acpi_sdt_header *madt;
};

/* Called for each table visited: its signature, length and whether its checksum is right. */
typedef void acpi_visit_fn(const char sig[4], uint32_t len, int checksum_ok);

uint8_t acpi_sum(const void *p, uint64_t len);
/* The RSDP at hint (if valid), else from a scan of 0xE0000-0xFFFFF; 0 when neither has one. */
const struct acpi_rsdp *acpi_find_rsdp(uint64_t hint, enum acpi_rsdp_source *source);
/* Visit the RSDP, the XSDT (or RSDT), every table it lists and the DSDT; visit may be 0. */
void acpi_walk(const struct acpi_rsdp *rsdp, struct acpi_info *info, acpi_visit_fn *visit);
/* A table header at paddr, mapped for its whole length and not absurdly long; otherwise 0. */
const struct acpi_sdt_header *acpi_table_at(uint64_t paddr);

#endif
