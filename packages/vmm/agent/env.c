/* The command environment (env.h). */
#include "env.h"

#include <stdlib.h>
#include <string.h>

#include "protocol.h"

static const char *const defaults[] = {"PATH=" AGENT_DEFAULT_PATH, "HOME=/root"};
#define N_DEFAULTS (sizeof defaults / sizeof defaults[0])

static int same_name(const char *a, const char *b) {
  size_t n = (size_t)(strchr(a, '=') - a);
  return strncmp(a, b, n + 1) == 0;
}

char **build_env(const struct exec_request *r) {
  char **out = calloc(N_DEFAULTS + r->envc + 1, sizeof *out);
  if (!out) return NULL;
  size_t n = 0;
  if (!(r->flags & AGENT_EXEC_F_REPLACE_ENV)) {
    for (size_t i = 0; i < N_DEFAULTS; i++) out[n++] = (char *)defaults[i];
  }
  for (uint32_t i = 0; i < r->envc; i++) {
    size_t j = 0;
    while (j < n && !same_name(out[j], r->env[i])) j++;
    out[j] = r->env[i]; /* a later entry of the same name wins, in the place of the first */
    if (j == n) n++;
  }
  out[n] = NULL;
  return out;
}
