/* Accept loop and per-connection dispatch (server.h). */
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame.h"
#include "handlers.h"
#include "io.h"
#include "log.h"
#include "protocol.h"

static void serve_connection(int fd) {
  static struct frame_reader rd;
  struct frame f;
  const char *why = NULL;
  if (fr_init(&rd) < 0) {
    agent_log("out of memory for a connection");
    send_error(fd, ENOMEM, "the agent is out of memory");
    close(fd);
    return;
  }
  switch (fr_wait(&rd, fd, &f, now_ms() + AGENT_REQUEST_WAIT_MS, &why)) {
  case FRW_FRAME:
    break;
  case FRW_BAD:
    agent_log("closing a connection that sent a malformed request: %s", why);
    send_error(fd, EPROTO, "malformed request: %s", why);
    close(fd);
    return;
  case FRW_TIMEOUT:
    agent_log("closing a connection that sent no request within %d ms", AGENT_REQUEST_WAIT_MS);
    close(fd);
    return;
  default: /* hung up before a request, or failed */
    close(fd);
    return;
  }
  switch (f.type) {
  case AGENT_T_EXEC:
    handle_exec(fd, &rd, &f);
    break;
  case AGENT_T_COPY_IN:
    handle_copy_in(fd, &rd, &f);
    break;
  case AGENT_T_COPY_OUT:
    handle_copy_out(fd, &rd, &f);
    break;
  case AGENT_T_CONNECT:
    handle_connect(fd, &rd, &f);
    break;
  default:
    agent_log("closing a connection whose first frame (type 0x%02x) is not a request", f.type);
    send_error(fd, EPROTO, "the first frame must be EXEC, COPY_IN, COPY_OUT or CONNECT, not type 0x%02x",
               f.type);
    close(fd);
  }
}

void serve_forever(int listen_fd) {
  for (;;) {
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    if (poll_wait(&p, 1, -1) < 0) agent_log("poll on the listening socket failed: %s", strerror(errno));
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    if (!(p.revents & POLLIN)) continue;
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
        agent_log("cannot accept a connection: %s; retrying in 100 ms", strerror(errno));
        poll_wait(NULL, 0, 100);
      }
      continue;
    }
    pid_t pid = fork();
    if (pid == 0) {
      close(listen_fd);
      serve_connection(fd);
      _exit(0);
    }
    if (pid < 0) agent_log("cannot fork for a connection: %s", strerror(errno));
    close(fd);
  }
}
