/*
 * stream: a PVH guest that writes to COM1 without a pause, for the snapshot tests: STREAM-READY,
 * then "S n" for n = 1, 2, ... forever. Nearly every exit it makes is a UART access, so a pause
 * lands right after one: a snapshot that saved such an access unfinished repeats it on restore
 * (a byte printed twice), which the test sees in the joined output.
 */
#include "lib/guest.h"
#include "lib/print.h"
#include "lib/report.h"
#include "lib/serial.h"

void guest_main(uint64_t boot_arg) {
  (void)boot_arg;
  serial_init();
  report_line("STREAM-READY");
  for (uint64_t n = 1;; n++) {
    print_str("S ");
    print_dec(n);
    print_str("\n");
  }
}
