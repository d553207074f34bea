/* Exception reporters (exceptions.h). gcc's interrupt attribute builds each entry; vectors that
 * push an error code (§6.15: 8, 10-14, 17, 21, 29, 30) take it as a second argument. */
#include "exceptions.h"

#include "idt.h"
#include "power.h"
#include "print.h"

typedef unsigned long uword_t;

__attribute__((noreturn)) static void report(unsigned vector, const struct interrupt_frame *f, int has_code,
                                             uword_t code) {
  print_str("EXCEPTION vector=");
  print_dec(vector);
  print_str(" rip=");
  print_hex(f->rip);
  if (has_code) {
    print_str(" error=");
    print_hex(code);
  }
  print_str("\n");
  halt_forever();
}

#define PLAIN(v)                                                                                   \
  __attribute__((interrupt)) static void exc_##v(struct interrupt_frame *f) { report(v, f, 0, 0); }
#define WITH_CODE(v)                                                                               \
  __attribute__((interrupt)) static void exc_##v(struct interrupt_frame *f, uword_t code) {      \
    report(v, f, 1, code);                                                                         \
  }

PLAIN(0) PLAIN(1) PLAIN(2) PLAIN(3) PLAIN(4) PLAIN(5) PLAIN(6) PLAIN(7)
WITH_CODE(8) PLAIN(9) WITH_CODE(10) WITH_CODE(11) WITH_CODE(12) WITH_CODE(13) WITH_CODE(14) PLAIN(15)
PLAIN(16) WITH_CODE(17) PLAIN(18) PLAIN(19) PLAIN(20) WITH_CODE(21) PLAIN(22) PLAIN(23)
PLAIN(24) PLAIN(25) PLAIN(26) PLAIN(27) PLAIN(28) WITH_CODE(29) WITH_CODE(30) PLAIN(31)

/* Gates hold plain handler addresses: the two signatures differ only in what the entry pops. */
#define G(v) (idt_handler_fn *)(void *)exc_##v
static idt_handler_fn *const handlers[32] = {
    G(0),  G(1),  G(2),  G(3),  G(4),  G(5),  G(6),  G(7),  G(8),  G(9),  G(10),
    G(11), G(12), G(13), G(14), G(15), G(16), G(17), G(18), G(19), G(20), G(21),
    G(22), G(23), G(24), G(25), G(26), G(27), G(28), G(29), G(30), G(31),
};

void exceptions_install(void) {
  for (unsigned v = 0; v < 32; v++) idt_set_gate((unsigned char)v, handlers[v]);
}
