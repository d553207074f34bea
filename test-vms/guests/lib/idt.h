/*
 * A minimal 64-bit IDT (Intel SDM vol. 3A §6.10 "Interrupt Descriptor Table", §6.14.1 "64-Bit
 * Mode IDT": 16-byte gate descriptors). Only the vectors a guest installs are present; any other
 * interrupt or exception finds a not-present gate and ends in a triple fault, as it did without
 * an IDT.
 */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H

#include <stdint.h>

/* The frame the CPU pushes for an interrupt without an error code (§6.14.2, Figure 6-9). */
struct interrupt_frame {
  uint64_t rip;
  uint64_t cs;
  uint64_t rflags;
  uint64_t rsp;
  uint64_t ss;
};

typedef void idt_handler_fn(struct interrupt_frame *frame);

/* Installs handler (a function with __attribute__((interrupt))) as a 64-bit interrupt gate
 * (IF cleared on entry) for vector, selector 0x08 of boot_gdt, DPL 0, no IST. */
void idt_set_gate(uint8_t vector, idt_handler_fn *handler);
/* Loads the IDT register (lidt); call once, after or before setting gates. */
void idt_load(void);

#endif
