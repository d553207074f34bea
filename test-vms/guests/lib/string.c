/*
 * memcpy, memset, memmove, memcmp: gcc may emit calls to these even in freestanding code
 * (GCC manual, "Standards": "GCC requires the freestanding environment provide memcpy, memmove,
 * memset and memcmp"). Bulk moves use rep movsq / rep stosq: on software-emulated KVM they are far
 * cheaper per byte than byte loops (shared/testing.md).
 */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n) {
  void *d = dst;
  size_t q = n >> 3, r = n & 7;
  __asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(q) : : "memory");
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(r) : : "memory");
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  void *d = dst;
  uint64_t v = (uint8_t)c * 0x0101010101010101ull;
  size_t q = n >> 3, r = n & 7;
  __asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
  __asm__ volatile("rep stosb" : "+D"(d), "+c"(r) : "a"(v) : "memory");
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d <= s || d >= s + n) return memcpy(dst, src, n);
  /* Overlapping, destination above the source: copy backwards. */
  unsigned char *de = d + n - 1;
  const unsigned char *se = s + n - 1;
  __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(de), "+S"(se), "+c"(n) : : "memory");
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}
