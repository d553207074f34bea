/*
 * blk-bench: the guest side of `pnpm bench blk` (tools/bench/blk.ts). On the first virtio-blk
 * disk, over its first bench.mib MiB (command line, default 16):
 *   seq-write  1 MiB OUT requests from sector 0 on, then one FLUSH
 *   seq-read   1 MiB IN requests over the same range, bench.passes times (default 1)
 *   rand-read  bench.rand (default 200) 4 KiB IN requests at pseudo-random 4 KiB-aligned offsets
 * The guest keeps no clock: it prints a line at the start and at the end of each phase and the
 * host timestamps them as they arrive on COM1. Lines (format of lib/report.h):
 *   BENCH config mib=<N> passes=<N> rand=<count> size_max=<bytes> seg_max=<segments>
 *   BENCH <phase> begin
 *   BENCH <phase> end bytes=<decimal> ops=<requests>
 * then IRQS and DONE. The 1 MiB data buffer sits at BENCH_BUF_PADDR, outside the image and the
 * BSS. The guest fills it once before the first phase (rep stosq, outside the timed phases), so a
 * monitor copies written data from real pages: guest RAM no one ever wrote can be the host's
 * shared zero page (QEMU's anonymous RAM), which costs a monitor far less to copy than data.
 */
#include "../lib/guest.h"
#include "../lib/print.h"
#include "../lib/report.h"
#include "../lib/start_info.h"
#include "blk_report.h"
#include "common.h"

#define MIB (1u << 20)
#define SECTOR 512u
#define RAND_BYTES 4096u
#define BENCH_BUF_PADDR 0x2000000ull /* 32 MiB: guests run with >= 128 MiB */
#define E820_RAM 1
#define DEFAULT_MIB 16
#define DEFAULT_RAND 200
#define MAX_MIB 65536 /* 64 GiB: keeps sector arithmetic far from overflow */
#define MAX_PASSES 1024

static struct virtio_blk disk;

/* The decimal value of `key` (e.g. "bench.mib=") as a whole word of cmdline, or dflt. */
static uint64_t cmdline_u64(const char *cmdline, const char *key, uint64_t dflt) {
  if (!cmdline) return dflt;
  for (const char *p = cmdline; *p; p++) {
    if (p != cmdline && p[-1] != ' ') continue;
    const char *k = key, *s = p;
    while (*k && *s == *k) k++, s++;
    if (*k || *s < '0' || *s > '9') continue;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9' && v < (1ull << 40)) v = v * 10 + (uint64_t)(*s++ - '0');
    return v;
  }
  return dflt;
}

/* True when the memory map has RAM (type 1) covering [addr, addr + len). */
static int ram_covers(uint64_t boot_arg, uint64_t addr, uint64_t len) {
  uint32_t n = 0;
  const struct hvm_memmap_table_entry *m = start_info_memmap(start_info_at(boot_arg), &n);
  for (uint32_t i = 0; m && i < n; i++)
    if (m[i].type == E820_RAM && m[i].addr <= addr && addr + len <= m[i].addr + m[i].size) return 1;
  return 0;
}

static void phase_begin(const char *name) {
  print_str("BENCH ");
  print_str(name);
  print_str(" begin\n");
}

static void phase_end(const char *name, uint64_t bytes, uint64_t ops) {
  print_str("BENCH ");
  print_str(name);
  print_str(" end bytes=");
  print_dec(bytes);
  print_str(" ops=");
  print_dec(ops);
  print_str("\n");
}

/* One request that must succeed; prints an ERROR line and returns -1 otherwise. */
static int must(uint32_t type, uint64_t sector, volatile void *data, uint32_t len) {
  uint8_t s = virtio_blk_request(&disk, type, sector, data, len);
  if (s == VIRTIO_BLK_S_OK) return 0;
  print_str("BLK-STATUS op=bench sector=");
  print_dec(sector);
  print_str(" status=");
  print_dec(s);
  print_str("\n");
  report_error("a benchmark request failed");
  return -1;
}

static int run(uint64_t mib, uint64_t passes, uint64_t rand_ops) {
  volatile void *buf = (volatile void *)(uintptr_t)BENCH_BUF_PADDR;
  print_str("BENCH config mib=");
  print_dec(mib);
  print_str(" passes=");
  print_dec(passes);
  print_str(" rand=");
  print_dec(rand_ops);
  print_str(" size_max=");
  print_dec(disk.size_max);
  print_str(" seg_max=");
  print_dec(disk.seg_max);
  print_str("\n");

  __builtin_memset((void *)(uintptr_t)BENCH_BUF_PADDR, 0x5a, MIB); /* lib/string.c: rep stosq */
  phase_begin("seq-write");
  for (uint64_t i = 0; i < mib; i++)
    if (must(VIRTIO_BLK_T_OUT, i * (MIB / SECTOR), buf, MIB) != 0) return -1;
  if ((disk.features & 1u << VIRTIO_BLK_F_FLUSH) && must(VIRTIO_BLK_T_FLUSH, 0, 0, 0) != 0) return -1;
  phase_end("seq-write", mib * MIB, mib);

  phase_begin("seq-read");
  for (uint64_t p = 0; p < passes; p++)
    for (uint64_t i = 0; i < mib; i++)
      if (must(VIRTIO_BLK_T_IN, i * (MIB / SECTOR), buf, MIB) != 0) return -1;
  phase_end("seq-read", passes * mib * MIB, passes * mib);

  /* xorshift64 (Marsaglia 2003), fixed seed: the same offsets on every run and monitor. */
  uint64_t x = 0x9e3779b97f4a7c15ull, slots = mib * (MIB / RAND_BYTES);
  phase_begin("rand-read");
  for (uint64_t i = 0; i < rand_ops; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    if (must(VIRTIO_BLK_T_IN, (x % slots) * (RAND_BYTES / SECTOR), buf, RAND_BYTES) != 0) return -1;
  }
  phase_end("rand-read", rand_ops * RAND_BYTES, rand_ops);
  return 0;
}

void guest_main(uint64_t boot_arg) {
  struct acpi_info acpi;
  const char *cmdline = virtio_guest_start(boot_arg, &acpi);
  uint64_t mib = cmdline_u64(cmdline, "bench.mib=", DEFAULT_MIB);
  uint64_t rand_ops = cmdline_u64(cmdline, "bench.rand=", DEFAULT_RAND);
  uint64_t passes = cmdline_u64(cmdline, "bench.passes=", 1);
  if (mib == 0 || mib > MAX_MIB) {
    report_error("bench.mib must be 1..65536");
  } else if (passes == 0 || passes > MAX_PASSES) {
    report_error("bench.passes must be 1..1024");
  } else if (!ram_covers(boot_arg, BENCH_BUF_PADDR, MIB)) {
    report_error("no RAM at 32 MiB for the 1 MiB buffer: give the guest at least 64 MiB");
  } else if (blk_open_and_report(&disk, cmdline) == 0) {
    if (disk.capacity < mib * (MIB / SECTOR)) report_error("the disk is smaller than bench.mib");
    else run(mib, passes, rand_ops);
  }
  virtio_guest_end(&acpi);
}
