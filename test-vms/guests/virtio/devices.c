/* Parses `virtio_mmio.device=<size>[KMG]@<base>:<irq>` entries and probes each transport's DeviceID. */
#include "devices.h"

#include "virtio_mmio.h"

static const char KEY[] = "virtio_mmio.device=";

/* Parses a C-style number (0x hex or decimal) at *p; advances *p. */
static uint64_t parse_num(const char **p) {
  const char *s = *p;
  uint64_t v = 0;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s += 2;
    for (;; s++) {
      char c = *s;
      unsigned d;
      if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
      else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
      else break;
      v = v * 16 + d;
    }
  } else {
    while (*s >= '0' && *s <= '9') v = v * 10 + (uint64_t)(*s++ - '0');
  }
  *p = s;
  return v;
}

static int starts_with(const char *s, const char *prefix) {
  while (*prefix)
    if (*s++ != *prefix++) return 0;
  return 1;
}

uint64_t virtio_find_device(const char *cmdline, uint32_t want_id, uint32_t *gsi) {
  if (!cmdline) return 0;
  for (const char *p = cmdline; *p; p++) {
    if ((p != cmdline && p[-1] != ' ') || !starts_with(p, KEY)) continue;
    const char *s = p + sizeof KEY - 1;
    uint64_t size = parse_num(&s);
    if (*s == 'K' || *s == 'k') size <<= 10, s++;
    if (*s != '@') continue;
    s++;
    uint64_t base = parse_num(&s);
    uint64_t irq = 0;
    if (*s == ':') {
      s++;
      irq = parse_num(&s);
    }
    /* Only transports inside the identity map (4 GiB, lib/boot-tables.S) and with room for the
     * registers we touch are probed. */
    if (size < 0x200 || base == 0 || base >= 0x100000000ull - 0x200 || (base & 3)) continue;
    if (vmmio_read(base, VMMIO_MAGIC) != VIRTIO_MMIO_MAGIC) continue;
    if (irq > 0xffffffffull) continue;
    if (vmmio_read(base, VMMIO_DEVICE_ID) == want_id) {
      *gsi = (uint32_t)irq;
      return base;
    }
  }
  return 0;
}
