/*
 * lifecycle: a PVH guest that counts, for the monitor's pause, resume, snapshot and power-button
 * tests. It prints LIFECYCLE-READY, then "COUNT n" every COUNT_MS (n = 1, 2, ...: a paused VM
 * prints none, a resumed or restored one goes on from where it stopped), sleeping in `hlt` on
 * the LAPIC timer between lines. The ACPI power button (the GED's interrupt, whose event register
 * says which event) makes it print POWER-BUTTON and power off through the FADT.
 */
#include "lib/acpi_report.h"
#include "lib/exceptions.h"
#include "lib/ged.h"
#include "lib/guest.h"
#include "lib/idt.h"
#include "lib/io.h"
#include "lib/ioapic.h"
#include "lib/lapic.h"
#include "lib/pic8259.h"
#include "lib/power.h"
#include "lib/print.h"
#include "lib/report.h"
#include "lib/serial.h"
#include "lib/start_info.h"

#define TIMER_VECTOR 0x40
#define GED_VECTOR 0x41
#define SPURIOUS_VECTOR 0xff
#define COUNT_MS 100

static volatile int timer_fired;
static volatile int button_pressed;

__attribute__((interrupt)) static void timer_isr(struct interrupt_frame *frame) {
  (void)frame;
  timer_fired = 1;
  lapic_eoi();
}

/* What _EVT does in AML: read (and so clear) the event register, act on its bits. */
__attribute__((interrupt)) static void ged_isr(struct interrupt_frame *frame) {
  (void)frame;
  if (inb(GED_EVENT_PORT) & GED_EVENT_POWER_BUTTON) button_pressed = 1;
  lapic_eoi();
}

__attribute__((interrupt)) static void spurious_isr(struct interrupt_frame *frame) { (void)frame; }

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  enum acpi_rsdp_source source;
  serial_init();
  const struct hvm_start_info *si = start_info_at(boot_arg);
  acpi_walk(acpi_find_rsdp(si ? si->rsdp_paddr : 0, &source), &acpi, 0);
  pic8259_mask_all();
  exceptions_install();
  idt_set_gate(TIMER_VECTOR, timer_isr);
  idt_set_gate(GED_VECTOR, ged_isr);
  idt_set_gate(SPURIOUS_VECTOR, spurious_isr);
  idt_load();
  lapic_enable(SPURIOUS_VECTOR);
  lapic_timer_oneshot_setup(TIMER_VECTOR);
  if (ioapic_route(acpi.madt, GED_GSI, GED_VECTOR, lapic_id()) != 0) {
    report_error("no I/O APIC input for the GED's GSI");
    guest_exit(&acpi);
  }
  report_line("LIFECYCLE-READY");
  for (uint64_t n = 1;; n++) {
    print_str("COUNT ");
    print_dec(n);
    print_str("\n");
    timer_fired = 0;
    lapic_timer_start(COUNT_MS * LAPIC_TIMER_COUNTS_PER_MS);
    /* As virtio/irq.c: check with interrupts off, then `sti; hlt`, so no interrupt is missed. */
    for (;;) {
      __asm__ volatile("cli" ::: "memory");
      if (button_pressed) {
        report_line("POWER-BUTTON");
        guest_exit(&acpi);
      }
      if (timer_fired) break;
      __asm__ volatile("sti; hlt" ::: "memory");
    }
  }
}
