/* Masks both 8259As (pic8259.h): OCW1 is a write of the mask to the data port. */
#include "pic8259.h"

#include "io.h"

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

void pic8259_mask_all(void) {
  outb(PIC1_DATA, 0xff);
  outb(PIC2_DATA, 0xff);
}
