/* Request decoding (request.h, layouts in protocol.h). */
#include "request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "wire.h"

static const char *malformed(struct cursor *c, int *err) {
  *err = EPROTO;
  return c->bad;
}

static const char *invalid(const char *why, int *err) {
  *err = EINVAL;
  return why;
}

static const char *start(struct cursor *c, const struct frame *f, int *err) {
  cur_init(c, f->payload, f->len);
  uint32_t version = cur_u32(c);
  if (c->bad) return malformed(c, err);
  if (version != AGENT_PROTOCOL_VERSION) {
    *err = EPROTONOSUPPORT;
    return "the client speaks another protocol version than this agent (use the agent built with the client)";
  }
  return NULL;
}

static char **str_array(struct cursor *c, uint32_t n) {
  char **a = calloc((size_t)n + 1, sizeof *a);
  if (!a) {
    c->bad = "out of memory";
    return NULL;
  }
  for (uint32_t i = 0; i < n && !c->bad; i++) a[i] = cur_str(c, AGENT_MAX_PAYLOAD, "string too long");
  return a;
}

const char *parse_exec(const struct frame *f, struct exec_request *r, int *err) {
  struct cursor c;
  const char *why = start(&c, f, err);
  if (why) return why;
  r->timeout_ms = cur_u32(&c);
  r->flags = cur_u32(&c);
  r->argc = cur_u32(&c);
  r->envc = cur_u32(&c);
  if (c.bad) return malformed(&c, err);
  if (r->argc == 0 || r->argc > AGENT_MAX_ARGV) c.bad = "argc is 0 or over AGENT_MAX_ARGV";
  else if (r->envc > AGENT_MAX_ENV) c.bad = "envc over AGENT_MAX_ENV";
  else if (r->flags & ~(uint32_t)AGENT_EXEC_F_KNOWN) c.bad = "unknown EXEC flags";
  if (c.bad) return malformed(&c, err);
  r->argv = str_array(&c, r->argc);
  r->env = str_array(&c, r->envc);
  r->cwd = cur_str(&c, AGENT_MAX_PATH, "cwd longer than AGENT_MAX_PATH");
  if (cur_end(&c)) return malformed(&c, err);
  if (r->argv[0][0] == 0) return invalid("the program name (argv[0]) is empty", err);
  for (uint32_t i = 0; i < r->envc; i++) {
    const char *eq = strchr(r->env[i], '=');
    if (!eq || eq == r->env[i]) return invalid("an environment entry is not NAME=value", err);
  }
  return NULL;
}

const char *parse_copy_in(const struct frame *f, struct copy_request *r, int *err) {
  struct cursor c;
  const char *why = start(&c, f, err);
  if (why) return why;
  r->mode = cur_u32(&c);
  r->path = cur_str(&c, AGENT_MAX_PATH, "path longer than AGENT_MAX_PATH");
  if (cur_end(&c)) return malformed(&c, err);
  if (r->mode & ~07777u) return invalid("mode has bits other than permission bits (07777)", err);
  if (r->path[0] == 0) return invalid("the path is empty", err);
  return NULL;
}

const char *parse_copy_out(const struct frame *f, struct copy_request *r, int *err) {
  struct cursor c;
  const char *why = start(&c, f, err);
  if (why) return why;
  r->mode = 0;
  r->path = cur_str(&c, AGENT_MAX_PATH, "path longer than AGENT_MAX_PATH");
  if (cur_end(&c)) return malformed(&c, err);
  if (r->path[0] == 0) return invalid("the path is empty", err);
  return NULL;
}

const char *parse_connect(const struct frame *f, struct connect_request *r, int *err) {
  struct cursor c;
  const char *why = start(&c, f, err);
  if (why) return why;
  r->port = cur_u16(&c);
  uint16_t reserved = cur_u16(&c);
  r->timeout_ms = cur_u32(&c);
  r->host = cur_str(&c, AGENT_MAX_HOST, "host longer than AGENT_MAX_HOST");
  if (!c.bad && reserved != 0) c.bad = "non-zero reserved field";
  if (cur_end(&c)) return malformed(&c, err);
  if (r->port == 0) return invalid("port 0", err);
  if (r->host[0] == 0) return invalid("the host is empty", err);
  return NULL;
}
