#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

void serial_init(void);
void serial_putc(char c);
/* Blocks until COM1 has received a byte. */
unsigned char serial_getc(void);

#endif
