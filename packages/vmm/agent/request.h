/*
 * The four requests (protocol.h), decoded from a frame's payload with every count and length checked
 * against its cap. The strings are malloc'd copies; a connection process exits after one request, so
 * they are never freed.
 */
#ifndef AGENT_REQUEST_H
#define AGENT_REQUEST_H

#include <stdint.h>

#include "frame.h"

struct exec_request {
  uint32_t timeout_ms, flags, argc, envc;
  char **argv; /* argc entries and a NULL */
  char **env;  /* envc entries "NAME=value" */
  char *cwd;   /* "" for "/" */
};

struct copy_request {
  uint32_t mode; /* COPY_IN only */
  char *path;
};

struct connect_request {
  uint16_t port;
  uint32_t timeout_ms;
  char *host;
};

/* Each returns NULL, or why the request cannot be served with *err the errno for the ERROR reply:
   EPROTO (malformed), EPROTONOSUPPORT (another protocol version) or EINVAL (a value out of range). */
const char *parse_exec(const struct frame *f, struct exec_request *r, int *err);
const char *parse_copy_in(const struct frame *f, struct copy_request *r, int *err);
const char *parse_copy_out(const struct frame *f, struct copy_request *r, int *err);
const char *parse_connect(const struct frame *f, struct connect_request *r, int *err);

#endif
