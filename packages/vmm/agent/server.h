/*
 * The accept loop: one forked process per connection, which reads the request frame (within
 * AGENT_REQUEST_WAIT_MS), runs its handler and exits. The loop reaps finished connection processes
 * and, as a child subreaper, the orphans of the commands they ran.
 */
#ifndef AGENT_SERVER_H
#define AGENT_SERVER_H

/* Never returns. */
void serve_forever(int listen_fd);

#endif
