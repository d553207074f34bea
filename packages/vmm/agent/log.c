/* The agent's log lines (log.h): formatted whole, then written with one write(2) so lines from
   concurrent connection processes do not interleave. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void agent_log(const char *fmt, ...) {
  char line[1024];
  int saved = errno;
  /* One byte stays free for the newline; snprintf truncates what does not fit. */
  int n = snprintf(line, sizeof line - 1, "vmm-agent[%d]: ", (int)getpid());
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof line - 1 - (size_t)n, fmt, ap);
  va_end(ap);
  size_t len = strlen(line);
  line[len++] = '\n';
  ssize_t w = write(2, line, len);
  (void)w; /* nowhere else to report a failed log write */
  errno = saved;
}
