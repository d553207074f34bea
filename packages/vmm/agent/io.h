/*
 * Socket and pipe I/O shared by the handlers. Connection sockets are non-blocking; write_all waits
 * for room with poll, so a slow client slows the agent down instead of growing a buffer.
 */
#ifndef AGENT_IO_H
#define AGENT_IO_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t now_ms(void);
/* ppoll with SIGCHLD unblocked (sig.h); timeout_ms < 0 waits forever. Returns ppoll's result, 0 on EINTR. */
int poll_wait(struct pollfd *fds, unsigned n, int64_t timeout_ms);
/* Writes everything, waiting for room on a non-blocking fd. 0, or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);
/* Sets O_NONBLOCK. */
int set_nonblock(int fd);
/* The end of a connection: shut our side down, read and drop what the client still sends until it
   closes (or AGENT_LINGER_MS), close. Lets the last frame reach the client before any reset. */
void conn_finish(int fd);

#endif
