/*
 * Reporters for the 32 architectural exception vectors (Intel SDM vol. 3A §6.15 "Exception and
 * Interrupt Reference"): a guest that faults prints `EXCEPTION vector=N rip=0x...` and halts,
 * instead of triple-faulting with nothing said.
 */
#ifndef GUEST_EXCEPTIONS_H
#define GUEST_EXCEPTIONS_H

/* Installs a gate for each of vectors 0..31; call before idt_load(). */
void exceptions_install(void);

#endif
