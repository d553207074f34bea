/*
 * triple-fault: a PVH guest that prints TRIPLE-FAULT-NOW, loads an IDT with limit 0 and faults:
 * the #GP cannot be delivered, nor the #DF that follows, so the CPU shuts down (Intel SDM vol. 3A
 * §6.15, "Interrupt 8—Double Fault Exception": a fault during #DF delivery is a triple fault).
 * The fault is a store to a non-canonical address (int3 is not emulated on our hosts).
 */
#include "lib/guest.h"
#include "lib/power.h"
#include "lib/report.h"
#include "lib/serial.h"

void guest_main(uint64_t boot_arg) {
  (void)boot_arg;
  static const struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
  } empty_idt = {0, 0};
  serial_init();
  report_line("TRIPLE-FAULT-NOW");
  __asm__ volatile("lidt %0" : : "m"(empty_idt));
  __asm__ volatile("movabs $0x8000000000000000, %%rax\n\tmovb $0, (%%rax)" : : : "rax", "memory");
  halt_forever(); /* not reached */
}
