/* I/O helpers (io.h). */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"
#include "sig.h"

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int poll_wait(struct pollfd *fds, unsigned n, int64_t timeout_ms) {
  struct timespec ts, *tp = NULL;
  if (timeout_ms >= 0) {
    ts.tv_sec = (time_t)(timeout_ms / 1000);
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
    tp = &ts;
  }
  int r = ppoll(fds, n, tp, &sig_wait_mask);
  if (r < 0 && errno == EINTR) return 0;
  return r;
}

int write_all(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w > 0) {
      p += w;
      len -= (size_t)w;
    } else if (w < 0 && errno == EAGAIN) {
      struct pollfd pfd = {.fd = fd, .events = POLLOUT};
      if (poll_wait(&pfd, 1, -1) < 0) return -1;
    } else if (w < 0 && errno != EINTR) {
      return -1;
    }
  }
  return 0;
}

int set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void conn_finish(int fd) {
  static uint8_t sink[16384];
  shutdown(fd, SHUT_WR);
  int64_t end = now_ms() + AGENT_LINGER_MS;
  for (;;) {
    ssize_t r = read(fd, sink, sizeof sink);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) break;
    if (r > 0) continue;
    int64_t left = end - now_ms();
    if (left <= 0) break;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll_wait(&pfd, 1, left) < 0) break;
  }
  close(fd);
}
