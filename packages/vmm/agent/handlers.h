/* The four operations (protocol.h), each run in its own connection process after the request frame
   was read; each ends the connection (conn_finish, io.h) before it returns. */
#ifndef AGENT_HANDLERS_H
#define AGENT_HANDLERS_H

#include "frame.h"

void handle_exec(int fd, struct frame_reader *rd, const struct frame *req);
void handle_copy_in(int fd, struct frame_reader *rd, const struct frame *req);
void handle_copy_out(int fd, struct frame_reader *rd, const struct frame *req);
void handle_connect(int fd, struct frame_reader *rd, const struct frame *req);

#endif
