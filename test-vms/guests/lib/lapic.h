/*
 * The local APIC in xAPIC mode (Intel SDM vol. 3A §10.4 "Local APIC": IA32_APIC_BASE, the
 * register map in Table 10-1, §10.9 the spurious-interrupt vector register, §10.8.5 EOI, §10.5.4
 * the APIC timer). Registers are 32-bit, 16-byte aligned, at the MSR's base (identity-mapped).
 */
#ifndef GUEST_LAPIC_H
#define GUEST_LAPIC_H

#include <stdint.h>

/* Enables the local APIC (IA32_APIC_BASE bit 11, then SVR bit 8 with spurious_vector), accepts
 * every priority (TPR 0) and masks the timer. */
void lapic_enable(uint8_t spurious_vector);
/* This CPU's APIC ID (ID register bits 31:24). */
uint8_t lapic_id(void);
/* End of interrupt: write 0 to the EOI register. */
void lapic_eoi(void);
/* Sets the timer up one-shot on vector, divide by 16, stopped. */
void lapic_timer_oneshot_setup(uint8_t vector);
/* Starts the one-shot count down from `count` (0 stops it): one register write. */
void lapic_timer_start(uint32_t count);
/* The timer's current count (0 once a one-shot count has run out, or when stopped). */
uint32_t lapic_timer_current(void);

/* The timer counts the APIC bus clock; KVM's in-kernel LAPIC and QEMU's both run it at 1 GHz
 * (1 ns per cycle), so with divide 16 one count is 16 ns. An approximation on other hosts. */
#define LAPIC_TIMER_COUNTS_PER_MS (1000000u / 16u)

#endif
