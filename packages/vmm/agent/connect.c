/*
 * CONNECT (protocol.h): resolve the host in the guest (getaddrinfo: /etc/hosts, then DNS from
 * /etc/resolv.conf; IPv4 and IPv6 literals as they are), try each address in the resolver's order
 * with a non-blocking connect bounded by timeout_ms, reply OK or ERROR with the last errno, then relay.
 * A client that hangs up while the connect is in progress ends it.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handlers.h"
#include "io.h"
#include "protocol.h"
#include "relay.h"
#include "request.h"

/* getaddrinfo's EAI_* as the errno the client sees: ENOENT for a name that does not exist. */
static int gai_errno(int rc) {
  switch (rc) {
  case EAI_NONAME:
#ifdef EAI_NODATA
  case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
  case EAI_ADDRFAMILY:
#endif
    return ENOENT;
  case EAI_AGAIN:
    return EAGAIN;
  case EAI_MEMORY:
    return ENOMEM;
  case EAI_SYSTEM:
    return errno;
  default:
    return EINVAL;
  }
}

static void format_addr(const struct addrinfo *a, char *out, size_t len) {
  if (getnameinfo(a->ai_addr, a->ai_addrlen, out, (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0) {
    snprintf(out, len, "?");
  }
}

/* The connected socket, or -1 with errno; -2 if the client hung up meanwhile. */
static int try_connect(const struct addrinfo *a, int client, int64_t deadline) {
  int err = 0;
  socklen_t len = sizeof err;
  int s = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
  if (s < 0) return -1;
  if (connect(s, a->ai_addr, a->ai_addrlen) == 0) return s;
  if (errno != EINPROGRESS) goto fail;
  for (;;) {
    int64_t left = -1;
    if (deadline >= 0) {
      left = deadline - now_ms();
      if (left <= 0) {
        errno = ETIMEDOUT;
        goto fail;
      }
    }
    struct pollfd p[2] = {{.fd = s, .events = POLLOUT}, {.fd = client, .events = POLLRDHUP}};
    if (poll_wait(p, 2, left) < 0) goto fail;
    if (p[1].revents) {
      close(s);
      return -2;
    }
    if (p[0].revents) break;
  }
  if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) < 0) goto fail;
  if (err == 0) return s;
  errno = err;
fail:
  err = errno;
  close(s);
  errno = err;
  return -1;
}

void handle_connect(int fd, struct frame_reader *rd, const struct frame *req) {
  struct connect_request r;
  int err;
  const char *why = parse_connect(req, &r, &err);
  if (why) {
    send_error(fd, err, "bad CONNECT request: %s", why);
    conn_finish(fd);
    return;
  }
  struct addrinfo hints, *list = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  int rc = getaddrinfo(r.host, NULL, &hints, &list);
  if (rc != 0) {
    err = gai_errno(rc);
    const char *reason = rc == EAI_SYSTEM ? strerror(err) : gai_strerror(rc);
    send_error(fd, err, "cannot resolve '%s' in the guest: %s", r.host, reason);
    conn_finish(fd);
    return;
  }
  int64_t deadline = r.timeout_ms ? now_ms() + r.timeout_ms : -1;
  int tcp = -1;
  char addr[INET6_ADDRSTRLEN] = "?";
  err = EHOSTUNREACH;
  for (struct addrinfo *a = list; a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      ((struct sockaddr_in *)a->ai_addr)->sin_port = htons(r.port);
    } else if (a->ai_family == AF_INET6) {
      ((struct sockaddr_in6 *)a->ai_addr)->sin6_port = htons(r.port);
    } else {
      continue;
    }
    format_addr(a, addr, sizeof addr);
    tcp = try_connect(a, fd, deadline);
    if (tcp >= 0) break;
    if (tcp == -2) { /* the client is gone */
      close(fd);
      return;
    }
    err = errno;
    if (err == ETIMEDOUT) break;
  }
  freeaddrinfo(list);
  if (tcp < 0) {
    send_error(fd, err, "cannot connect to %s port %u (%s) from the guest: %s", r.host, r.port, addr,
               strerror(err));
    conn_finish(fd);
    return;
  }
  if (send_frame(fd, AGENT_T_OK, NULL, 0) < 0) {
    close(tcp);
    close(fd);
    return;
  }
  const uint8_t *early;
  size_t early_len = fr_rest(rd, &early);
  relay(fd, tcp, early, early_len);
}
