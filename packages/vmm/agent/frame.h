/*
 * Frames (protocol.h): a reader that reassembles them from a non-blocking socket and checks each
 * header as soon as its 8 bytes are in, and the writers for the agent's replies.
 */
#ifndef AGENT_FRAME_H
#define AGENT_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct frame {
  uint8_t type;
  uint32_t len;
  const uint8_t *payload; /* valid until the next fr_fill on the same reader */
};

struct frame_reader {
  uint8_t *buf; /* AGENT_HEADER_SIZE + AGENT_MAX_PAYLOAD bytes: one whole frame always fits */
  size_t start, end;
};

enum fr_status { FR_FRAME, FR_MORE, FR_BAD };
enum fr_wait_status { FRW_FRAME, FRW_EOF, FRW_BAD, FRW_TIMEOUT, FRW_IOERR };

int fr_init(struct frame_reader *r);
/* The next whole frame, taken off the buffer; FR_MORE if it is not all in; FR_BAD (why set) if its header
   is malformed. */
enum fr_status fr_next(struct frame_reader *r, struct frame *f, const char **why);
/* Reads what the socket has: > 0 bytes read, 0 end of stream, -1 with errno (EAGAIN: nothing yet). */
ssize_t fr_fill(struct frame_reader *r, int fd);
/* Waits for the next frame until deadline (now_ms() clock; < 0: no deadline). */
enum fr_wait_status fr_wait(struct frame_reader *r, int fd, struct frame *f, int64_t deadline,
                            const char **why);
/* Bytes read past the last frame taken (the start of CONNECT's raw stream). */
size_t fr_rest(const struct frame_reader *r, const uint8_t **p);

void put_header(uint8_t *h, uint8_t type, uint32_t len);
/* 0, or -1 with errno (the client is gone). */
int send_frame(int fd, uint8_t type, const void *payload, uint32_t len);
int send_error(int fd, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
