/*
 * rng: reads RNG_BYTES from virtio-rng (virtio 1.2 §5.4: one device-writable buffer on requestq 0),
 * prints `RNG <hex>`, `RNG-NONZERO n=<count of non-zero bytes>`, DONE; then powers off.
 */
#include "../lib/guest.h"
#include "../lib/print.h"
#include "../lib/report.h"
#include "common.h"
#include "virtio_mmio.h"
#include "virtq.h"

#define RNG_BYTES 64

static volatile uint8_t entropy[RNG_BYTES];
static struct virtq q;

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  const char *cmdline = virtio_guest_start(boot_arg, &acpi);
  uint64_t base = virtio_open(cmdline, VIRTIO_ID_RNG);
  if (!base || virtio_mmio_init(base, VIRTIO_ID_RNG, 0) < 0 || virtq_setup(&q, base, 0) != 0) {
    report_error("no usable virtio-rng device");
  } else {
    virtio_mmio_driver_ok(base);
    uint32_t got = 0;
    /* The device may return fewer bytes than asked (§5.4.6): ask again for the rest. */
    for (int tries = 0; got < RNG_BYTES && tries < 64; tries++) {
      struct virtq_buf b = {entropy + got, RNG_BYTES - got, 1};
      int64_t n = virtq_run(&q, &b, 1);
      if (n > 0 && n <= RNG_BYTES - got) got += (uint32_t)n;
    }
    uint8_t copy[RNG_BYTES];
    unsigned nonzero = 0;
    for (unsigned i = 0; i < RNG_BYTES; i++) nonzero += (copy[i] = entropy[i]) != 0;
    print_hex_line("RNG ", copy, got);
    print_str("RNG-NONZERO n=");
    print_dec(nonzero);
    print_str("\n");
  }
  virtio_guest_end(&acpi);
}
