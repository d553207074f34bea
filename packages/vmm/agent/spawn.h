/*
 * Starting an EXEC'd command: a fork whose child becomes a session and process-group leader (setsid,
 * so the whole group can be killed with kill(-pid)), gets pipes as stdin/stdout/stderr, changes to
 * cwd and calls execvp with the environment of env.h. Its chdir or execvp failure comes back through
 * a close-on-exec pipe, so the client gets ERROR with that errno rather than an exit code.
 */
#ifndef AGENT_SPAWN_H
#define AGENT_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "request.h"

struct spawned {
  pid_t pid; /* also the process group id */
  int in_fd; /* the agent's ends, non-blocking */
  int out_fd;
  int err_fd;
};

/* 0, or -1 with *err (errno) and msg (a sentence for the client). */
int spawn_command(const struct exec_request *r, struct spawned *s, int *err, char *msg, size_t msglen);

#endif
