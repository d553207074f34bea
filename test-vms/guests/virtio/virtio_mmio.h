/*
 * virtio-mmio transport, version 2 (virtio 1.2 §4.2.2 "MMIO Device Register Layout") and the
 * device status bits (§2.1). Registers are little-endian 32-bit, accessed as single 32-bit loads
 * and stores.
 */
#ifndef VIRTIO_MMIO_H
#define VIRTIO_MMIO_H

#include <stdint.h>

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */

enum virtio_mmio_reg {
  VMMIO_MAGIC = 0x000,
  VMMIO_VERSION = 0x004,
  VMMIO_DEVICE_ID = 0x008,
  VMMIO_VENDOR_ID = 0x00c,
  VMMIO_DEVICE_FEATURES = 0x010,
  VMMIO_DEVICE_FEATURES_SEL = 0x014,
  VMMIO_DRIVER_FEATURES = 0x020,
  VMMIO_DRIVER_FEATURES_SEL = 0x024,
  VMMIO_QUEUE_SEL = 0x030,
  VMMIO_QUEUE_NUM_MAX = 0x034,
  VMMIO_QUEUE_NUM = 0x038,
  VMMIO_QUEUE_READY = 0x044,
  VMMIO_QUEUE_NOTIFY = 0x050,
  VMMIO_INTERRUPT_STATUS = 0x060,
  VMMIO_INTERRUPT_ACK = 0x064,
  VMMIO_STATUS = 0x070,
  VMMIO_QUEUE_DESC_LOW = 0x080,
  VMMIO_QUEUE_DESC_HIGH = 0x084,
  VMMIO_QUEUE_DRIVER_LOW = 0x090,
  VMMIO_QUEUE_DRIVER_HIGH = 0x094,
  VMMIO_QUEUE_DEVICE_LOW = 0x0a0,
  VMMIO_QUEUE_DEVICE_HIGH = 0x0a4,
  VMMIO_CONFIG_GENERATION = 0x0fc,
  VMMIO_CONFIG = 0x100,
};

/* Device status (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_FAILED 128u

/* Reserved feature bits (§6). */
#define VIRTIO_F_VERSION_1 32

/* Device IDs (§5). */
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

static inline uint32_t vmmio_read(uint64_t base, uint32_t reg) {
  return *(volatile uint32_t *)(base + reg);
}
static inline void vmmio_write(uint64_t base, uint32_t reg, uint32_t v) {
  *(volatile uint32_t *)(base + reg) = v;
}

/*
 * Probes the transport at base (magic, version 2, device id == want), resets it, sets
 * ACKNOWLEDGE|DRIVER, accepts VERSION_1 plus the optional device bits in `wanted` (bits 0..31)
 * the device offers, and checks FEATURES_OK. Returns the accepted low feature word, or -1 with an
 * ERROR line printed.
 */
int64_t virtio_mmio_init(uint64_t base, uint32_t want_id, uint32_t wanted);
/* Sets DRIVER_OK (after the queues are set up). */
void virtio_mmio_driver_ok(uint64_t base);
/* Reads InterruptStatus and writes it back to InterruptACK; returns what was read. */
uint32_t virtio_mmio_ack(uint64_t base);

#endif
