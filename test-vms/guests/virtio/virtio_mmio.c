/* virtio-mmio device initialisation (virtio 1.2 §3.1.1 "Driver Requirements: Device Initialization"). */
#include "virtio_mmio.h"

#include "../lib/report.h"

int64_t virtio_mmio_init(uint64_t base, uint32_t want_id, uint32_t wanted) {
  if (vmmio_read(base, VMMIO_MAGIC) != VIRTIO_MMIO_MAGIC) return -1;
  if (vmmio_read(base, VMMIO_VERSION) != 2) return -1;
  if (vmmio_read(base, VMMIO_DEVICE_ID) != want_id) return -1;
  vmmio_write(base, VMMIO_STATUS, 0); /* reset (§4.2.2.1: writing 0 resets) */
  for (unsigned spins = 0; vmmio_read(base, VMMIO_STATUS) != 0; spins++) {
    if (spins == 1000000) {
      report_error("virtio device did not reset");
      return -1;
    }
    __asm__ volatile("pause");
  }
  vmmio_write(base, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
  vmmio_write(base, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
  vmmio_write(base, VMMIO_DEVICE_FEATURES_SEL, 1);
  uint32_t hi = vmmio_read(base, VMMIO_DEVICE_FEATURES);
  vmmio_write(base, VMMIO_DEVICE_FEATURES_SEL, 0);
  uint32_t lo = vmmio_read(base, VMMIO_DEVICE_FEATURES) & wanted;
  if (!(hi & (1u << (VIRTIO_F_VERSION_1 - 32)))) {
    report_error("virtio device does not offer VERSION_1");
    vmmio_write(base, VMMIO_STATUS, VIRTIO_STATUS_FAILED);
    return -1;
  }
  vmmio_write(base, VMMIO_DRIVER_FEATURES_SEL, 1);
  vmmio_write(base, VMMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32));
  vmmio_write(base, VMMIO_DRIVER_FEATURES_SEL, 0);
  vmmio_write(base, VMMIO_DRIVER_FEATURES, lo);
  uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
  vmmio_write(base, VMMIO_STATUS, s);
  if (!(vmmio_read(base, VMMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
    report_error("virtio device refused FEATURES_OK");
    vmmio_write(base, VMMIO_STATUS, VIRTIO_STATUS_FAILED);
    return -1;
  }
  return lo;
}

void virtio_mmio_driver_ok(uint64_t base) {
  vmmio_write(base, VMMIO_STATUS, vmmio_read(base, VMMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

uint32_t virtio_mmio_ack(uint64_t base) {
  uint32_t isr = vmmio_read(base, VMMIO_INTERRUPT_STATUS);
  if (isr) vmmio_write(base, VMMIO_INTERRUPT_ACK, isr);
  return isr;
}
