/* SHA-256 (FIPS 180-4 §6.2), integer-only, one-shot. */
#ifndef VIRTIO_SHA256_H
#define VIRTIO_SHA256_H

#include <stdint.h>

void sha256(const void *data, uint64_t len, uint8_t out[32]);

#endif
