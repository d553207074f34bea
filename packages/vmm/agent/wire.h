/*
 * Little-endian integers and a bounds-checked cursor over a received payload (the encoding of
 * protocol.h). Every read checks the bytes left; a failed read marks the cursor bad and returns 0/NULL.
 */
#ifndef AGENT_WIRE_H
#define AGENT_WIRE_H

#include <stddef.h>
#include <stdint.h>

void put_le16(uint8_t *p, uint16_t v);
void put_le32(uint8_t *p, uint32_t v);
void put_le64(uint8_t *p, uint64_t v);
uint16_t get_le16(const uint8_t *p);
uint32_t get_le32(const uint8_t *p);

struct cursor {
  const uint8_t *p;
  size_t left;
  const char *bad; /* why the payload is malformed, NULL while it is fine */
};

void cur_init(struct cursor *c, const uint8_t *p, size_t len);
uint16_t cur_u16(struct cursor *c);
uint32_t cur_u32(struct cursor *c);
/* A string (u32 count, bytes) of at most max bytes without NUL, copied NUL-terminated into malloc'd
   memory. */
char *cur_str(struct cursor *c, size_t max, const char *what);
/* The payload must be used up exactly: marks trailing bytes bad. Returns the reason or NULL. */
const char *cur_end(struct cursor *c);

#endif
