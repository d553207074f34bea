/* The listening socket: AF_VSOCK (vsock(7)) on a port for any CID, or a Unix stream socket at a path
   (tests on the host). Both non-blocking and close-on-exec. */
#ifndef AGENT_LISTEN_H
#define AGENT_LISTEN_H

/* The socket, or -1 with errno. */
int listen_vsock(unsigned port);
int listen_unix(const char *path);

#endif
