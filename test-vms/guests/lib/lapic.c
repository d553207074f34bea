/* Local APIC helpers (lapic.h; Intel SDM vol. 3A §10.4, Table 10-1). */
#include "lapic.h"

#define MSR_IA32_APIC_BASE 0x1b /* §10.4.4, Figure 10-5 */
#define APIC_BASE_ENABLE (1u << 11)
#define APIC_BASE_MASK 0xfffff000ull

#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3e0

#define SVR_APIC_ENABLE (1u << 8) /* §10.9, Figure 10-23 */
#define LVT_MASKED (1u << 16)     /* §10.5.1, Figure 10-8; timer mode bits 18:17 = 00 one-shot */
#define TIMER_DIVIDE_16 0x3       /* §10.5.4, Figure 10-10: bits 3,1:0 = 0,11 */

static volatile uint32_t *lapic_regs;

static uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (uint64_t)hi << 32 | lo;
}
static void wrmsr(uint32_t msr, uint64_t v) {
  __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint32_t rd(uint32_t reg) { return lapic_regs[reg / 4]; }
static inline void wr(uint32_t reg, uint32_t v) { lapic_regs[reg / 4] = v; }

void lapic_enable(uint8_t spurious_vector) {
  uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
  if (!(base & APIC_BASE_ENABLE)) wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_ENABLE);
  lapic_regs = (volatile uint32_t *)(uintptr_t)(base & APIC_BASE_MASK);
  wr(LAPIC_TPR, 0);
  wr(LAPIC_LVT_TIMER, LVT_MASKED);
  /* LINT0 is where a monitor wires the 8259's output (ExtINT); interrupts come from the I/O APIC. */
  wr(LAPIC_LVT_LINT0, LVT_MASKED);
  wr(LAPIC_SVR, SVR_APIC_ENABLE | spurious_vector);
}

uint8_t lapic_id(void) { return (uint8_t)(rd(LAPIC_ID) >> 24); }

void lapic_eoi(void) { wr(LAPIC_EOI, 0); }

void lapic_timer_oneshot_setup(uint8_t vector) {
  wr(LAPIC_TIMER_INITIAL, 0);
  wr(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_16);
  wr(LAPIC_LVT_TIMER, vector);
}

void lapic_timer_start(uint32_t count) { wr(LAPIC_TIMER_INITIAL, count); }

uint32_t lapic_timer_current(void) { return rd(LAPIC_TIMER_CURRENT); }
