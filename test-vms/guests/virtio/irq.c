/*
 * Device interrupts and the watchdog (irq.h). The wait follows the usual idle loop: with
 * interrupts off, check the used ring; if nothing is new, `sti; hlt`: STI delays interrupt
 * recognition by one instruction (Intel SDM vol. 2B, STI), so an interrupt that arrives after the
 * check wakes the HLT rather than being taken before it and sleeping forever. Busy-polling is
 * not an option: on software-emulated KVM a ring-0 loop sees an interrupt only ~1 ms late.
 */
#include "irq.h"

#include "../lib/exceptions.h"
#include "../lib/idt.h"
#include "../lib/ioapic.h"
#include "../lib/lapic.h"
#include "../lib/pic8259.h"
#include "../lib/power.h"
#include "../lib/print.h"
#include "../lib/report.h"

static const struct acpi_info *acpi_saved;
static volatile uint64_t device_irqs;
static volatile int watchdog_fired;

__attribute__((interrupt)) static void virtio_isr(struct interrupt_frame *frame) {
  (void)frame;
  device_irqs = device_irqs + 1;
  lapic_eoi();
}

/* A one-shot timer's interrupt may still be pending from an earlier wait that ended just as it
 * ran out; only a timer whose count is 0 now has really expired. */
__attribute__((interrupt)) static void watchdog_isr(struct interrupt_frame *frame) {
  (void)frame;
  if (lapic_timer_current() == 0) watchdog_fired = 1;
  lapic_eoi();
}

/* Spurious interrupts (Intel SDM vol. 3A §10.9) need no EOI. */
__attribute__((interrupt)) static void spurious_isr(struct interrupt_frame *frame) { (void)frame; }

void virtio_irq_init(const struct acpi_info *acpi) {
  acpi_saved = acpi;
  pic8259_mask_all();
  exceptions_install();
  idt_set_gate(VIRTIO_VECTOR, virtio_isr);
  idt_set_gate(WATCHDOG_VECTOR, watchdog_isr);
  idt_set_gate(SPURIOUS_VECTOR, spurious_isr);
  idt_load();
  lapic_enable(SPURIOUS_VECTOR);
  lapic_timer_oneshot_setup(WATCHDOG_VECTOR);
}

int virtio_irq_route(uint32_t gsi) {
  if (ioapic_route(acpi_saved ? acpi_saved->madt : 0, gsi, VIRTIO_VECTOR, lapic_id()) != 0) {
    report_error("no I/O APIC input for the virtio device's GSI");
    return -1;
  }
  return 0;
}

static uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

void virtio_irq_wait(const volatile uint16_t *idx, uint16_t last) {
  watchdog_fired = 0;
  uint64_t began = rdtsc();
  lapic_timer_start(VIRTQ_WATCHDOG_MS * LAPIC_TIMER_COUNTS_PER_MS);
  for (;;) {
    __asm__ volatile("cli" ::: "memory");
    /* The watchdog first: a used ring that moved without an interrupt for this long is a monitor
     * that does not interrupt, which is what the watchdog is there to show. */
    if (watchdog_fired) {
      report_line("VIRTQ-TIMEOUT");
      /* What the wait saw: whether the device completed without an interrupt, and for how long
       * the guest waited by its TSC (a restored timer that fired at once shows a short wait). */
      print_str("VIRTQ-STATE used=");
      print_dec(*idx);
      print_str(" last=");
      print_dec(last);
      print_str(" irqs=");
      print_dec(device_irqs);
      print_str(" tsc-waited=");
      print_dec(rdtsc() - began);
      print_str("\n");
      report_error("the virtio device did not complete a request within the watchdog (no interrupt?)");
      if (acpi_saved) guest_exit(acpi_saved);
      halt_forever();
    }
    if (*idx != last) break;
    __asm__ volatile("sti; hlt" ::: "memory");
  }
  lapic_timer_start(0);
}

void virtio_irq_report(void) {
  /* Take an interrupt still pending. On software-emulated KVM an injection trails the used ring by
   * about a millisecond, so a one-instruction `sti; nop; cli` window misses it: with none taken yet,
   * sleep for it, bounded by the watchdog timer. */
  if (device_irqs == 0) {
    watchdog_fired = 0;
    lapic_timer_start(REPORT_WAIT_MS * LAPIC_TIMER_COUNTS_PER_MS);
    for (;;) {
      __asm__ volatile("cli" ::: "memory");
      if (device_irqs != 0 || watchdog_fired) break;
      __asm__ volatile("sti; hlt" ::: "memory");
    }
    lapic_timer_start(0);
  } else {
    __asm__ volatile("sti; nop; cli" ::: "memory");
  }
  print_str("IRQS n=");
  print_dec(device_irqs);
  print_str("\n");
}
