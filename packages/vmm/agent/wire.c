/* Little-endian integers and the payload cursor (wire.h). */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

void put_le16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

void put_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

uint32_t get_le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

void cur_init(struct cursor *c, const uint8_t *p, size_t len) {
  c->p = p;
  c->left = len;
  c->bad = NULL;
}

static const uint8_t *take(struct cursor *c, size_t n, const char *why) {
  if (c->bad) return NULL;
  if (c->left < n) {
    c->bad = why;
    return NULL;
  }
  const uint8_t *p = c->p;
  c->p += n;
  c->left -= n;
  return p;
}

uint16_t cur_u16(struct cursor *c) {
  const uint8_t *p = take(c, 2, "payload too short");
  return p ? get_le16(p) : 0;
}

uint32_t cur_u32(struct cursor *c) {
  const uint8_t *p = take(c, 4, "payload too short");
  return p ? get_le32(p) : 0;
}

char *cur_str(struct cursor *c, size_t max, const char *what) {
  uint32_t n = cur_u32(c);
  if (c->bad) return NULL;
  if (n > max) {
    c->bad = what;
    return NULL;
  }
  const uint8_t *p = take(c, n, "string runs past the payload");
  if (!p) return NULL;
  if (memchr(p, 0, n)) {
    c->bad = "string contains a NUL byte";
    return NULL;
  }
  char *s = malloc((size_t)n + 1);
  if (!s) {
    c->bad = "out of memory";
    return NULL;
  }
  memcpy(s, p, n);
  s[n] = 0;
  return s;
}

const char *cur_end(struct cursor *c) {
  if (!c->bad && c->left != 0) c->bad = "trailing bytes after the payload";
  return c->bad;
}
