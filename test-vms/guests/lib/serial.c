/*
 * COM1: a 16550 UART at I/O port 0x3f8, polled, no interrupts (register map and LSR bits:
 * National Semiconductor PC16550D datasheet, "Register Description"; 0x3f8 is the PC's COM1).
 */
#include "serial.h"

#include "io.h"

#define COM1 0x3f8
#define UART_RBR 0 /* receiver buffer (read, DLAB=0) */
#define UART_THR 0 /* transmitter holding (write, DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define MCR_DTR_RTS_OUT2 0x0b
#define LSR_DR 0x01   /* data ready */
#define LSR_THRE 0x20 /* transmitter holding register empty */

/* A UART that never reports THRE must not hang the guest: after this many polls, write anyway. */
#define THRE_POLL_LIMIT 100000

/* The FIFO control register is left alone: changing FIFO mode clears the receiver, and input
   the monitor delivered before this runs (a byte waiting in RBR) must not be lost. Polled
   transmission needs no FIFO. */
void serial_init(void) {
  outb(COM1 + UART_IER, 0);
  outb(COM1 + UART_LCR, LCR_DLAB);
  outb(COM1 + UART_DLL, 1); /* 115200 baud */
  outb(COM1 + UART_DLM, 0);
  outb(COM1 + UART_LCR, LCR_8N1);
  outb(COM1 + UART_MCR, MCR_DTR_RTS_OUT2);
}

void serial_putc(char c) {
  for (int i = 0; i < THRE_POLL_LIMIT; i++) {
    if (inb(COM1 + UART_LSR) & LSR_THRE) break;
  }
  outb(COM1 + UART_THR, (unsigned char)c);
}

unsigned char serial_getc(void) {
  while (!(inb(COM1 + UART_LSR) & LSR_DR)) {
  }
  return inb(COM1 + UART_RBR);
}
