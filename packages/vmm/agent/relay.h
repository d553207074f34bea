/*
 * CONNECT's raw relay (protocol.h): bytes both ways between the client's stream and the TCP socket
 * until both directions have ended. An end of stream read on one side becomes shutdown(SHUT_WR) on
 * the other once everything before it was written (TCP half-close); an error on either side ends
 * the relay and closes both.
 */
#ifndef AGENT_RELAY_H
#define AGENT_RELAY_H

#include <stddef.h>
#include <stdint.h>

/* early: bytes the client sent after the request that were already read, relayed first. */
void relay(int client, int tcp, const uint8_t *early, size_t early_len);

#endif
