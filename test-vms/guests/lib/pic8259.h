/*
 * The legacy 8259A interrupt controllers (Intel 8259A datasheet, OCW1 "interrupt mask register").
 * A guest that takes interrupts through the I/O APIC masks both, as Linux does: otherwise a PIT
 * tick routed through the PIC lands on whatever vector the PIC was left with (an exception
 * vector) and the guest triple-faults. Monitors with an in-kernel PIT and PIC (ours, Firecracker)
 * leave them unmasked at reset.
 */
#ifndef GUEST_PIC8259_H
#define GUEST_PIC8259_H

void pic8259_mask_all(void);

#endif
