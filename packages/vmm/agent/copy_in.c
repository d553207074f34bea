/*
 * COPY_IN (protocol.h): open (create or truncate) the file, set its mode exactly (umask does not
 * apply), then write FILE_DATA frames as they come until FILE_END. The file is written in place, so
 * a copy that fails part-way leaves a partial file; a path under /proc or /sys works like any other.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers.h"
#include "io.h"
#include "log.h"
#include "protocol.h"
#include "request.h"
#include "wire.h"

static int write_file(int fd, const uint8_t *p, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    if (w == 0) { /* a device that takes nothing more */
      errno = ENOSPC;
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

void handle_copy_in(int fd, struct frame_reader *rd, const struct frame *req) {
  struct copy_request r;
  int err;
  const char *why = parse_copy_in(req, &r, &err);
  if (why) {
    send_error(fd, err, "bad COPY_IN request: %s", why);
    conn_finish(fd);
    return;
  }
  int file = open(r.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, (mode_t)r.mode);
  struct stat st;
  if (file < 0 || fstat(file, &st) < 0 || (S_ISREG(st.st_mode) && fchmod(file, (mode_t)r.mode) < 0)) {
    err = errno;
    send_error(fd, err, "cannot open '%s' for writing: %s", r.path, strerror(err));
    if (file >= 0) close(file);
    conn_finish(fd);
    return;
  }
  if (send_frame(fd, AGENT_T_OK, NULL, 0) < 0) goto gone;

  uint64_t total = 0;
  for (;;) {
    struct frame f;
    switch (fr_wait(rd, fd, &f, -1, &why)) {
    case FRW_FRAME:
      break;
    case FRW_BAD:
      goto violation;
    default:
      goto gone;
    }
    if (f.type == AGENT_T_FILE_DATA) {
      if (write_file(file, f.payload, f.len) < 0) {
        err = errno;
        send_error(fd, err, "cannot write '%s' after %llu bytes: %s", r.path, (unsigned long long)total,
                   strerror(err));
        close(file);
        conn_finish(fd);
        return;
      }
      total += f.len;
    } else if (f.type == AGENT_T_FILE_END && f.len == 0) {
      if (close(file) < 0) {
        err = errno;
        send_error(fd, err, "cannot finish writing '%s': %s", r.path, strerror(err));
      } else {
        uint8_t ok[AGENT_OK_SIZE_SIZE];
        put_le64(ok + AGENT_OK_SIZE_VALUE, total);
        send_frame(fd, AGENT_T_OK, ok, sizeof ok);
      }
      conn_finish(fd);
      return;
    } else {
      why = "a frame other than FILE_DATA or FILE_END";
      goto violation;
    }
  }

violation:
  agent_log("COPY_IN: closing a connection that broke the protocol: %s", why);
  send_error(fd, EPROTO, "protocol violation during COPY_IN: %s", why);
  close(file);
  close(fd);
  return;
gone:
  agent_log("COPY_IN: the client went away; '%s' may be left partly written", r.path);
  close(file);
  close(fd);
}
