/* Frame reassembly and replies (frame.h, layout in protocol.h). */
#include "frame.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "protocol.h"
#include "wire.h"

#define FR_CAP (AGENT_HEADER_SIZE + AGENT_MAX_PAYLOAD)

int fr_init(struct frame_reader *r) {
  r->buf = malloc(FR_CAP);
  r->start = r->end = 0;
  return r->buf ? 0 : -1;
}

static int known_type(uint8_t t) {
  switch (t) {
  case AGENT_T_EXEC:
  case AGENT_T_COPY_IN:
  case AGENT_T_COPY_OUT:
  case AGENT_T_CONNECT:
  case AGENT_T_STDIN:
  case AGENT_T_STDIN_EOF:
  case AGENT_T_FILE_DATA:
  case AGENT_T_FILE_END:
  case AGENT_T_OK:
  case AGENT_T_STDOUT:
  case AGENT_T_STDERR:
  case AGENT_T_EXIT:
  case AGENT_T_ERROR:
    return 1;
  default:
    return 0;
  }
}

enum fr_status fr_next(struct frame_reader *r, struct frame *f, const char **why) {
  size_t have = r->end - r->start;
  if (have < AGENT_HEADER_SIZE) return FR_MORE;
  const uint8_t *h = r->buf + r->start;
  uint32_t len = get_le32(h + AGENT_HDR_LENGTH);
  if (!known_type(h[AGENT_HDR_TYPE])) {
    *why = "unknown frame type";
    return FR_BAD;
  }
  if (h[AGENT_HDR_FLAGS] != 0 || get_le16(h + AGENT_HDR_RESERVED) != 0) {
    *why = "non-zero reserved header bits";
    return FR_BAD;
  }
  if (len > AGENT_MAX_PAYLOAD) {
    *why = "frame length over AGENT_MAX_PAYLOAD";
    return FR_BAD;
  }
  if (have - AGENT_HEADER_SIZE < len) return FR_MORE;
  f->type = h[AGENT_HDR_TYPE];
  f->len = len;
  f->payload = h + AGENT_HEADER_SIZE;
  r->start += AGENT_HEADER_SIZE + len;
  return FR_FRAME;
}

ssize_t fr_fill(struct frame_reader *r, int fd) {
  if (r->start == r->end) {
    r->start = r->end = 0;
  } else if (r->end == FR_CAP || r->start > FR_CAP / 2) {
    memmove(r->buf, r->buf + r->start, r->end - r->start);
    r->end -= r->start;
    r->start = 0;
  }
  if (r->end == FR_CAP) { /* cannot happen: a frame that big is taken before the next fill */
    errno = ENOBUFS;
    return -1;
  }
  for (;;) {
    ssize_t n = read(fd, r->buf + r->end, FR_CAP - r->end);
    if (n > 0) r->end += (size_t)n;
    if (n >= 0 || errno != EINTR) return n;
  }
}

enum fr_wait_status fr_wait(struct frame_reader *r, int fd, struct frame *f, int64_t deadline,
                            const char **why) {
  for (;;) {
    switch (fr_next(r, f, why)) {
    case FR_FRAME:
      return FRW_FRAME;
    case FR_BAD:
      return FRW_BAD;
    case FR_MORE:
      break;
    }
    ssize_t n = fr_fill(r, fd);
    if (n == 0) {
      if (r->end != r->start) *why = "stream ended inside a frame";
      return r->end != r->start ? FRW_BAD : FRW_EOF;
    }
    if (n > 0) continue;
    if (errno != EAGAIN) return FRW_IOERR;
    int64_t left = -1;
    if (deadline >= 0) {
      left = deadline - now_ms();
      if (left <= 0) return FRW_TIMEOUT;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll_wait(&pfd, 1, left) < 0) return FRW_IOERR;
  }
}

size_t fr_rest(const struct frame_reader *r, const uint8_t **p) {
  *p = r->buf + r->start;
  return r->end - r->start;
}

void put_header(uint8_t *h, uint8_t type, uint32_t len) {
  h[AGENT_HDR_TYPE] = type;
  h[AGENT_HDR_FLAGS] = 0;
  put_le16(h + AGENT_HDR_RESERVED, 0);
  put_le32(h + AGENT_HDR_LENGTH, len);
}

int send_frame(int fd, uint8_t type, const void *payload, uint32_t len) {
  uint8_t small[AGENT_HEADER_SIZE + 64];
  if (len <= sizeof small - AGENT_HEADER_SIZE) { /* one write for the small replies */
    put_header(small, type, len);
    if (len) memcpy(small + AGENT_HEADER_SIZE, payload, len);
    return write_all(fd, small, AGENT_HEADER_SIZE + len);
  }
  uint8_t h[AGENT_HEADER_SIZE];
  put_header(h, type, len);
  return write_all(fd, h, sizeof h) || write_all(fd, payload, len) ? -1 : 0;
}

int send_error(int fd, int err, const char *fmt, ...) {
  uint8_t p[AGENT_ERROR_MESSAGE + AGENT_MAX_MESSAGE + 1];
  put_le32(p + AGENT_ERROR_ERRNO, (uint32_t)err);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf((char *)p + AGENT_ERROR_MESSAGE, AGENT_MAX_MESSAGE + 1, fmt, ap);
  va_end(ap);
  size_t len = n < 0 ? 0 : (size_t)n > AGENT_MAX_MESSAGE ? AGENT_MAX_MESSAGE : (size_t)n;
  return send_frame(fd, AGENT_T_ERROR, p, (uint32_t)(AGENT_ERROR_MESSAGE + len));
}
