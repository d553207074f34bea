/*
 * A test vehicle, not a guest of its own: QEMU cannot enter a plain 64-bit ELF, so this PVH shim
 * lets linux64-info run under QEMU. Linked with linux64-info.c (compiled with
 * -Dguest_main=linux64_info_main) and entry-linux64.S, it turns the PVH hvm_start_info into a
 * Linux zero page (zeropage.h: e820_table, e820_entries, cmd_line_ptr, acpi_rsdp_addr) and enters
 * linux64_start with RSI = the zero page, in long mode with paging, as a 64-bit boot loader would.
 */
#include "lib/guest.h"
#include "lib/power.h"
#include "lib/report.h"
#include "lib/serial.h"
#include "lib/start_info.h"
#include "lib/zeropage.h"

void linux64_info_main(uint64_t zero_page);
extern char linux64_start[];

/* In .data, not .bss: long_start zeroes the BSS again when linux64_start runs. */
static uint8_t zero_page[ZP_SIZE] __attribute__((section(".data.zeropage"), aligned(4096)));
static int entered_once __attribute__((section(".data.zeropage")));

static void put32(uint32_t off, uint32_t v) { *(uint32_t *)(zero_page + off) = v; }
static void put64(uint32_t off, uint64_t v) { *(uint64_t *)(zero_page + off) = v; }

void guest_main(uint64_t boot_arg) {
  if (entered_once) {
    linux64_info_main(boot_arg); /* second entry: through linux64_start, RSI = zero_page */
    return;
  }
  entered_once = 1;
  const struct hvm_start_info *si = start_info_at(boot_arg);
  if (!si) {
    serial_init();
    report_error("linux64 shim: no hvm_start_info at EBX");
    halt_forever();
  }
  uint32_t n;
  const struct hvm_memmap_table_entry *m = start_info_memmap(si, &n);
  struct boot_e820_entry *e820 = (struct boot_e820_entry *)(zero_page + ZP_E820_TABLE);
  uint32_t k = 0;
  for (uint32_t i = 0; i < n && k < ZP_E820_MAX; i++) {
    if (m[i].size == 0) continue;
    e820[k].addr = m[i].addr;
    e820[k].size = m[i].size;
    e820[k].type = m[i].type;
    k++;
  }
  zero_page[ZP_E820_ENTRIES] = (uint8_t)k;
  put32(ZP_HDR_CMD_LINE_PTR, (uint32_t)si->cmdline_paddr);
  put32(ZP_EXT_CMD_LINE_PTR, (uint32_t)(si->cmdline_paddr >> 32));
  put64(ZP_ACPI_RSDP_ADDR, si->rsdp_paddr);
  __asm__ volatile("mov %0, %%rsi\n\tjmp *%1" : : "r"((uint64_t)(uintptr_t)zero_page), "r"(linux64_start) : "rsi");
  __builtin_unreachable();
}
