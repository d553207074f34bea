/* SIGCHLD and SIGPIPE handling (sig.h). */
#include "sig.h"

#include <string.h>

sigset_t sig_wait_mask;
static volatile sig_atomic_t chld_flag;

static void on_chld(int sig) {
  (void)sig;
  chld_flag = 1;
}

void sig_setup(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);
  sa.sa_handler = on_chld;
  sa.sa_flags = SA_NOCLDSTOP;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, NULL);

  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &sig_wait_mask);
  sigdelset(&sig_wait_mask, SIGCHLD);
}

int sig_take_chld(void) {
  int was = chld_flag;
  chld_flag = 0;
  return was;
}

void sig_reset_child(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &sa, NULL);
  sigaction(SIGCHLD, &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}
