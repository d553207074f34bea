/*
 * COPY_OUT (protocol.h): OK with the size, then the file in FILE_DATA frames of AGENT_DATA_CHUNK
 * bytes read straight behind the frame header, and FILE_END. Files whose size says nothing (/proc,
 * pipes) are read to their end like any other.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers.h"
#include "io.h"
#include "protocol.h"
#include "request.h"
#include "wire.h"

void handle_copy_out(int fd, struct frame_reader *rd, const struct frame *req) {
  (void)rd;
  struct copy_request r;
  int err;
  const char *why = parse_copy_out(req, &r, &err);
  if (why) {
    send_error(fd, err, "bad COPY_OUT request: %s", why);
    conn_finish(fd);
    return;
  }
  int file = open(r.path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  err = 0;
  if (file < 0 || fstat(file, &st) < 0) err = errno;
  else if (S_ISDIR(st.st_mode)) err = EISDIR; /* read(2) would say so only later */
  if (err) {
    send_error(fd, err, "cannot open '%s' for reading: %s", r.path, strerror(err));
    if (file >= 0) close(file);
    conn_finish(fd);
    return;
  }
  uint8_t ok[AGENT_OK_SIZE_SIZE];
  put_le64(ok + AGENT_OK_SIZE_VALUE, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : AGENT_SIZE_UNKNOWN);
  if (send_frame(fd, AGENT_T_OK, ok, sizeof ok) < 0) goto gone;

  static uint8_t buf[AGENT_HEADER_SIZE + AGENT_DATA_CHUNK];
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read(file, buf + AGENT_HEADER_SIZE, AGENT_DATA_CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      send_error(fd, err, "cannot read '%s' after %llu bytes: %s", r.path, (unsigned long long)total,
                 strerror(err));
      break;
    }
    if (n == 0) {
      send_frame(fd, AGENT_T_FILE_END, NULL, 0);
      break;
    }
    put_header(buf, AGENT_T_FILE_DATA, (uint32_t)n);
    if (write_all(fd, buf, AGENT_HEADER_SIZE + (size_t)n) < 0) goto gone;
    total += (uint64_t)n;
  }
  close(file);
  conn_finish(fd);
  return;
gone:
  close(file);
  close(fd);
}
