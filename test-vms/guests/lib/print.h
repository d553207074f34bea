#ifndef GUEST_PRINT_H
#define GUEST_PRINT_H

#include <stdint.h>

void print_str(const char *s);
void print_bytes(const void *p, uint64_t n);
void print_dec(uint64_t v);
/* "0x" and lowercase digits without leading zeros. */
void print_hex(uint64_t v);

#endif
