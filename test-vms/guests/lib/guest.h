/* What every guest links against: its entry (entry-pvh.S or entry-linux64.S) calls guest_main. */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdint.h>

/* boot_arg: PVH: the hvm_start_info address (EBX); Linux 64-bit: the zero page (RSI). */
void guest_main(uint64_t boot_arg);

#endif
