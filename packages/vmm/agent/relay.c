/* The byte relay (relay.h): one 64 KiB buffer per direction, filled only when empty. */
#include "relay.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "log.h"

#define RELAY_BUF 65536

struct direction {
  int from, to;
  const uint8_t *p; /* pending bytes: into buf, or the early bytes */
  size_t left;
  int eof;  /* read 0 from `from` */
  int shut; /* shutdown(to, SHUT_WR) done */
  uint8_t buf[RELAY_BUF];
};

/* One step after poll; 0, or -1 on an error that ends the relay. */
static int step(struct direction *d, short rev_from, short rev_to) {
  if (d->left && (rev_to & (POLLOUT | POLLERR | POLLHUP))) {
    ssize_t w = write(d->to, d->p, d->left);
    if (w > 0) {
      d->p += w;
      d->left -= (size_t)w;
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
      return -1;
    }
  }
  if (!d->left && !d->eof && (rev_from & (POLLIN | POLLHUP | POLLERR))) {
    ssize_t n = read(d->from, d->buf, sizeof d->buf);
    if (n > 0) {
      d->p = d->buf;
      d->left = (size_t)n;
    } else if (n == 0) {
      d->eof = 1;
    } else if (errno != EAGAIN && errno != EINTR) {
      return -1;
    }
  }
  if (d->eof && !d->left && !d->shut) {
    shutdown(d->to, SHUT_WR);
    d->shut = 1;
  }
  return 0;
}

/* The poll entry for one side: its events, or an idle watch (events 0) when the side has nothing to
   read or write but a hang-up or error there still ends the relay; -1 (not watched) while it only
   waits for the other side. */
static void watch(struct pollfd *p, int fd, short events, int busy_elsewhere) {
  p->fd = events || !busy_elsewhere ? fd : -1;
  p->events = events;
  p->revents = 0;
}

void relay(int client, int tcp, const uint8_t *early, size_t early_len) {
  static struct direction up, down; /* client to TCP, TCP to client */
  up.from = client;
  up.to = tcp;
  up.p = early;
  up.left = early_len;
  down.from = tcp;
  down.to = client;
  while (!(up.shut && down.shut)) {
    struct pollfd p[2]; /* the client, the TCP socket */
    short ce = (short)((!up.left && !up.eof ? POLLIN : 0) | (down.left ? POLLOUT : 0));
    short te = (short)((!down.left && !down.eof ? POLLIN : 0) | (up.left ? POLLOUT : 0));
    watch(&p[0], client, ce, up.left != 0);
    watch(&p[1], tcp, te, down.left != 0);
    if (poll_wait(p, 2, -1) < 0) {
      agent_log("CONNECT: poll failed");
      break;
    }
    if ((!ce && p[0].revents) || (!te && p[1].revents)) break; /* an idle side hung up or failed */
    if (step(&up, p[0].revents, p[1].revents) < 0 || step(&down, p[1].revents, p[0].revents) < 0) break;
  }
  close(tcp);
  close(client);
}
