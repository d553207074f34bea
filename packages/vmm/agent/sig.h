/*
 * Signals: SIGPIPE is ignored (a peer that went away shows as EPIPE), SIGCHLD stays blocked except
 * inside poll_wait (io.h), where its handler only raises a flag, so child exits are noticed without
 * races and no system call elsewhere is interrupted.
 */
#ifndef AGENT_SIG_H
#define AGENT_SIG_H

#include <signal.h>

/* The mask poll_wait runs with: the startup mask without SIGCHLD. */
extern sigset_t sig_wait_mask;

void sig_setup(void);
/* Whether SIGCHLD arrived since the last call (then the caller reaps with WNOHANG). */
int sig_take_chld(void);
/* In a forked child about to execve: default dispositions and an empty mask. */
void sig_reset_child(void);

#endif
