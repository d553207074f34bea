/* The IDT and its 64-bit interrupt gates (idt.h; Intel SDM vol. 3A §6.14.1, Figure 6-8). */
#include "idt.h"

#define IDT_VECTORS 256
#define GDT_CODE64 0x08        /* lib/boot-tables.S */
#define GATE_TYPE_INTERRUPT 0xe /* 64-bit interrupt gate (§3.5, Table 3-2) */
#define GATE_PRESENT 0x80

struct idt_gate { /* §6.14.1, Figure 6-8: 16 bytes */
  uint16_t offset_low;   /* offset 15:0 */
  uint16_t selector;     /* code segment selector */
  uint8_t ist;           /* bits 2:0 IST index, 0 = none */
  uint8_t type_attr;     /* bits 3:0 type, bit 4 0, bits 6:5 DPL, bit 7 P */
  uint16_t offset_mid;   /* offset 31:16 */
  uint32_t offset_high;  /* offset 63:32 */
  uint32_t reserved;
} __attribute__((packed));

struct idt_ptr { /* lidt operand in 64-bit mode: 2-byte limit, 8-byte base (§6.10, Figure 6-1) */
  uint16_t limit;
  uint64_t base;
} __attribute__((packed));

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));

void idt_set_gate(uint8_t vector, idt_handler_fn *handler) {
  uint64_t a = (uint64_t)(uintptr_t)handler;
  idt[vector] = (struct idt_gate){
      .offset_low = (uint16_t)a,
      .selector = GDT_CODE64,
      .ist = 0,
      .type_attr = GATE_PRESENT | GATE_TYPE_INTERRUPT,
      .offset_mid = (uint16_t)(a >> 16),
      .offset_high = (uint32_t)(a >> 32),
      .reserved = 0,
  };
}

void idt_load(void) {
  struct idt_ptr p = {sizeof idt - 1, (uint64_t)(uintptr_t)idt};
  __asm__ volatile("lidt %0" : : "m"(p) : "memory");
}
