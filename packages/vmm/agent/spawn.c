/* Command start-up (spawn.h). */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env.h"
#include "io.h"
#include "sig.h"
#include "wire.h"

extern char **environ;

enum { STAGE_CHDIR = 1, STAGE_EXEC = 2, STAGE_SETUP = 3 };

static void close_pair(int p[2]) {
  if (p[0] >= 0) close(p[0]);
  if (p[1] >= 0) close(p[1]);
}

static void child_fail(int fd, int stage) {
  uint8_t report[8];
  put_le32(report, (uint32_t)stage);
  put_le32(report + 4, (uint32_t)errno);
  ssize_t w = write(fd, report, sizeof report);
  (void)w; /* if the report is lost the parent sees a successful start and exit code 127 */
  _exit(127);
}

static void child(const struct exec_request *r, char **envp, int in, int out, int err, int report) {
  if (setsid() < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
    child_fail(report, STAGE_SETUP);
  }
  sig_reset_child();
  if (r->cwd[0] && chdir(r->cwd) < 0) child_fail(report, STAGE_CHDIR);
  environ = envp; /* execvp searches the command's PATH, not the agent's */
  execvp(r->argv[0], r->argv);
  child_fail(report, STAGE_EXEC);
}

int spawn_command(const struct exec_request *r, struct spawned *s, int *err, char *msg, size_t msglen) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1}, rep[2] = {-1, -1};
  char **envp = build_env(r);
  if (!envp || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) ||
      pipe2(rep, O_CLOEXEC)) {
    *err = envp ? errno : ENOMEM;
    snprintf(msg, msglen, "cannot set up pipes for '%s': %s", r->argv[0], strerror(*err));
    goto fail;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *err = errno;
    snprintf(msg, msglen, "cannot fork to run '%s': %s", r->argv[0], strerror(*err));
    goto fail;
  }
  if (pid == 0) child(r, envp, in[0], out[1], errp[1], rep[1]);

  close(in[0]);
  close(out[1]);
  close(errp[1]);
  close(rep[1]);
  in[0] = out[1] = errp[1] = rep[1] = -1;
  uint8_t report[8];
  ssize_t n;
  do n = read(rep[0], report, sizeof report);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof report) {
    uint32_t stage = get_le32(report);
    *err = (int)get_le32(report + 4);
    waitpid(pid, NULL, 0);
    if (stage == STAGE_CHDIR) {
      snprintf(msg, msglen, "cannot change to directory '%s': %s", r->cwd, strerror(*err));
    } else if (stage == STAGE_EXEC) {
      snprintf(msg, msglen, "cannot run '%s': %s", r->argv[0], strerror(*err));
    } else {
      snprintf(msg, msglen, "cannot set up the process for '%s': %s", r->argv[0], strerror(*err));
    }
    goto fail;
  }
  close(rep[0]);
  set_nonblock(in[1]);
  set_nonblock(out[0]);
  set_nonblock(errp[0]);
  s->pid = pid;
  s->in_fd = in[1];
  s->out_fd = out[0];
  s->err_fd = errp[0];
  return 0;

fail:
  close_pair(in);
  close_pair(out);
  close_pair(errp);
  close_pair(rep);
  return -1;
}
