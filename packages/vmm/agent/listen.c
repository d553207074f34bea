/* Listening sockets (listen.h). */
#include "listen.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
/* After sys/socket.h, which it needs. */
#include <linux/vm_sockets.h>

#define BACKLOG 128

static int finish(int s, const struct sockaddr *addr, socklen_t len) {
  if (bind(s, addr, len) == 0 && listen(s, BACKLOG) == 0) return s;
  int err = errno;
  close(s);
  errno = err;
  return -1;
}

int listen_vsock(unsigned port) {
  int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct sockaddr_vm a;
  memset(&a, 0, sizeof a);
  a.svm_family = AF_VSOCK;
  a.svm_cid = VMADDR_CID_ANY;
  a.svm_port = port;
  return finish(s, (struct sockaddr *)&a, sizeof a);
}

int listen_unix(const char *path) {
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  if (strlen(path) >= sizeof a.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  a.sun_family = AF_UNIX;
  strcpy(a.sun_path, path);
  return finish(s, (struct sockaddr *)&a, sizeof a);
}
