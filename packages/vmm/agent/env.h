/* The environment of an EXEC'd command (protocol.h): PATH=AGENT_DEFAULT_PATH and HOME=/root, each
   replaced by a client entry of the same name, then the client's other entries in order; with
   AGENT_EXEC_F_REPLACE_ENV only the client's. Never the agent's own environment. */
#ifndef AGENT_ENV_H
#define AGENT_ENV_H

#include "request.h"

/* A NULL-terminated array for execve, or NULL when out of memory. */
char **build_env(const struct exec_request *r);

#endif
