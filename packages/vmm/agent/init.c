/* Init mode (init.h). */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* PID 1 must not exit (the kernel panics): if the init cannot run, stay and reap orphans forever. */
static void reap_forever(void) {
  for (;;) {
    if (wait(NULL) < 0 && errno == ECHILD) sleep(1);
  }
}

static int same_file(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void init_then(const char *init_path, char **init_argv, const char *self_path) {
  if (same_file(init_path, self_path)) { /* exec'ing ourselves would loop */
    agent_log("init mode: %s is this agent; pass the real init with --init-then PATH", init_path);
    init_path = NULL;
  }
  pid_t pid = fork();
  if (pid < 0) agent_log("init mode: cannot fork the agent: %s", strerror(errno));
  if (pid == 0) {
    setsid();
    if (chdir("/") < 0) agent_log("init mode: cannot change to /: %s", strerror(errno));
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, 0);
      close(null);
    }
    return;
  }
  if (init_path) {
    init_argv[0] = (char *)init_path;
    execv(init_path, init_argv);
    agent_log("init mode: cannot exec %s: %s; staying as PID %d to reap orphans", init_path, strerror(errno),
              (int)getpid());
  }
  reap_forever();
}
