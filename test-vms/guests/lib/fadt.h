/*
 * FADT fields the guests use (ACPI 6.5 §5.2.9, Table 5.9: byte offsets from the table's start).
 */
#ifndef GUEST_FADT_H
#define GUEST_FADT_H

#include <stdint.h>

#include "acpi.h"

#define FADT_DSDT 40                /* u32 */
#define FADT_PM1A_CNT_BLK 64        /* u32, system I/O port */
#define FADT_PM1B_CNT_BLK 68        /* u32 */
#define FADT_FLAGS 112              /* u32 */
#define FADT_RESET_REG 116          /* GAS */
#define FADT_RESET_VALUE 128        /* u8 */
#define FADT_X_DSDT 140             /* u64 */
#define FADT_X_PM1A_CNT_BLK 172     /* GAS */
#define FADT_X_PM1B_CNT_BLK 184     /* GAS */
#define FADT_SLEEP_CONTROL_REG 244  /* GAS (ACPI 5.0+) */
#define FADT_SLEEP_STATUS_REG 256   /* GAS */

#define FADT_FLAG_RESET_REG_SUP (1u << 10)   /* Table 5.10 */
#define FADT_FLAG_HW_REDUCED_ACPI (1u << 20)

uint64_t fadt_dsdt_address(const struct acpi_sdt_header *fadt);
uint32_t fadt_flags(const struct acpi_sdt_header *fadt);
/* The GAS at offset when the table is long enough to hold it and its address is set; else 0. */
const struct acpi_gas *fadt_gas(const struct acpi_sdt_header *fadt, uint32_t offset);
/* PM1a/PM1b_CNT_BLK as I/O ports: X_ GAS (system I/O) first, the 32-bit block address otherwise. */
uint64_t fadt_pm1_cnt_port(const struct acpi_sdt_header *fadt, int b);

#endif
