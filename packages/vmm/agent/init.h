/*
 * Init mode: the agent started as the kernel's first process (rdinit=/path/to/vmm-agent, or with
 * --init-then) forks; the child returns to become the agent daemon (its own session, stdin on
 * /dev/null, stdout/stderr left on the console for its log), and the parent, still PID 1, execs the
 * original init with the arguments the kernel passed, so that init keeps PID 1 and its duties.
 */
#ifndef AGENT_INIT_H
#define AGENT_INIT_H

/* Returns only in the child. init_argv[0] is replaced by init_path; the array is NULL-terminated. */
void init_then(const char *init_path, char **init_argv, const char *self_path);

#endif
