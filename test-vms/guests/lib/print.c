/* Text output on COM1: strings, raw bytes, decimal and hexadecimal numbers (format: report.h). */
#include "print.h"

#include "serial.h"

void print_str(const char *s) {
  while (*s) serial_putc(*s++);
}

void print_bytes(const void *p, uint64_t n) {
  const char *c = p;
  for (uint64_t i = 0; i < n; i++) serial_putc(c[i]);
}

void print_dec(uint64_t v) {
  char buf[20];
  int n = 0;
  do {
    buf[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) serial_putc(buf[--n]);
}

void print_hex(uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  char buf[16];
  int n = 0;
  do {
    buf[n++] = digits[v & 0xf];
    v >>= 4;
  } while (v);
  serial_putc('0');
  serial_putc('x');
  while (n) serial_putc(buf[--n]);
}
