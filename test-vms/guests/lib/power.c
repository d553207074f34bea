/*
 * Reset: write RESET_VALUE to the FADT's RESET_REG (ACPI 6.5 §4.8.3.6), when the FADT's
 * RESET_REG_SUP flag says it is there.
 * Power off: enter the S5 sleep state (ACPI 6.5 §16.1.7 "Transitioning from the Working to the
 * Soft Off State"). SLP_TYPa comes from the DSDT's \_S5_ object (aml_s5.c).
 *   HW-reduced ACPI (FADT flag HW_REDUCED_ACPI, or a SLEEP_CONTROL_REG given): write
 *     (SLP_TYP << 2) | SLP_EN (bit 5) to the Sleep Control Register (§4.8.3.7, Table 4.19).
 *   Fixed hardware: set SLP_TYPx (bits 12:10) and SLP_EN (bit 13) in PM1a_CNT / PM1b_CNT
 *     (§4.8.3.2.1, Table 4.13), keeping the register's other bits.
 * If the VM is still running about a second later, say so; the caller then halts, interrupts off.
 */
#include "power.h"

#include "aml_s5.h"
#include "fadt.h"
#include "io.h"
#include "phys.h"
#include "print.h"
#include "report.h"

#define SLEEP_CTL_SLP_TYP_SHIFT 2
#define SLEEP_CTL_SLP_EN (1u << 5)
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK (7u << 10)
#define PM1_CNT_SLP_EN (1u << 13)

/* Time for the monitor to act on the write before we call it failed: about a second of TSC
   ticks on any host of 1-4 GHz, and a bound on iterations should the TSC stand still. */
#define POWEROFF_GRACE_TSC (1ull << 31)
#define POWEROFF_GRACE_ITERATIONS (1u << 24)

__attribute__((noreturn)) void halt_forever(void) {
  for (;;) __asm__ volatile("cli\n\thlt");
}

static uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t)hi << 32 | lo;
}

static void grace_wait(void) {
  uint64_t start = rdtsc();
  for (uint32_t i = 0; i < POWEROFF_GRACE_ITERATIONS && rdtsc() - start < POWEROFF_GRACE_TSC; i++) {
    __asm__ volatile("" : : : "memory");
  }
}

static void gas_write8(const struct acpi_gas *g, uint8_t v) {
  if (g->space_id == ACPI_GAS_SYSTEM_IO && g->address <= 0xffff) {
    outb((uint16_t)g->address, v);
  } else if (g->space_id == ACPI_GAS_SYSTEM_MEMORY && phys_ok(g->address, 1)) {
    *(volatile uint8_t *)(uintptr_t)g->address = v;
  }
}

static void pm1_write(uint64_t port, unsigned slp_typ) {
  if (!port || port > 0xffff) return;
  uint16_t v = inw((uint16_t)port);
  v = (uint16_t)((v & ~PM1_CNT_SLP_TYP_MASK) | (slp_typ << PM1_CNT_SLP_TYP_SHIFT) | PM1_CNT_SLP_EN);
  outw((uint16_t)port, v);
}

void acpi_poweroff(const struct acpi_info *info) {
  if (!info->fadt) {
    report_error("no FADT: cannot power off");
    return;
  }
  int typ = info->dsdt ? aml_s5_slp_typ(info->dsdt) : -1;
  if (typ < 0) {
    report_error("no _S5_ package in the DSDT: cannot power off");
    return;
  }
  const struct acpi_gas *sleep_ctl = fadt_gas(info->fadt, FADT_SLEEP_CONTROL_REG);
  int hw_reduced = (fadt_flags(info->fadt) & FADT_FLAG_HW_REDUCED_ACPI) != 0;
  print_str("POWEROFF S5 slp_typ=");
  print_dec((unsigned)typ);
  if (sleep_ctl && (hw_reduced || !fadt_pm1_cnt_port(info->fadt, 0))) {
    print_str(" reg=sleep_control\n");
    gas_write8(sleep_ctl, (uint8_t)(((unsigned)typ & 7) << SLEEP_CTL_SLP_TYP_SHIFT | SLEEP_CTL_SLP_EN));
  } else {
    print_str(" reg=pm1_control\n");
    pm1_write(fadt_pm1_cnt_port(info->fadt, 0), (unsigned)typ & 7);
    pm1_write(fadt_pm1_cnt_port(info->fadt, 1), (unsigned)typ & 7);
  }
  grace_wait();
  report_line("POWEROFF-FAILED");
}

void acpi_reset(const struct acpi_info *info) {
  const struct acpi_gas *reg = info->fadt ? fadt_gas(info->fadt, FADT_RESET_REG) : 0;
  if (!reg || !(fadt_flags(info->fadt) & FADT_FLAG_RESET_REG_SUP) || info->fadt->length <= FADT_RESET_VALUE) {
    report_error("no reset register in the FADT: cannot reset");
    return;
  }
  uint8_t value = ((const uint8_t *)info->fadt)[FADT_RESET_VALUE];
  report_line("RESET reg=fadt");
  gas_write8(reg, value);
  grace_wait();
  report_line("RESET-FAILED");
}

__attribute__((noreturn)) void guest_exit(const struct acpi_info *info) {
  acpi_poweroff(info);
  halt_forever();
}
