/*
 * The guest agent's wire protocol, declared once here and mirrored once in
 * packages/vmm/src/agent/protocol.ts (protocol.test.ts compiles this header and compares every value).
 * The protocol is our own; the socket under it is AF_VSOCK (Linux vsock(7), port AGENT_VSOCK_PORT,
 * any CID) in a guest, or a Unix stream socket when the agent runs on the host for tests.
 *
 * One operation per connection: the client opens a new stream for each exec, copy or connect.
 * Every message is a frame; all integers are little-endian:
 *
 *   offset 0  u8   type      AGENT_T_*
 *   offset 1  u8   flags     0 (reserved)
 *   offset 2  u16  reserved  0
 *   offset 4  u32  length    payload bytes that follow, at most AGENT_MAX_PAYLOAD
 *
 * A string inside a payload is a u32 byte count and the bytes (no terminator, no NUL inside).
 * The client's first frame is a request; its payload starts with u32 AGENT_PROTOCOL_VERSION.
 *
 *   EXEC      u32 version, u32 timeout_ms (0: none), u32 flags (AGENT_EXEC_F_*),
 *             u32 argc (1..AGENT_MAX_ARGV), u32 envc (0..AGENT_MAX_ENV), argc strings,
 *             envc strings "NAME=value", string cwd ("": "/").
 *             The command runs in a new session (setsid) with an environment of AGENT_DEFAULT_PATH and
 *             HOME=/root, overridden by the given entries (or only the given ones with REPLACE_ENV).
 *             agent:  OK {u32 pid} once execve succeeded, or ERROR (chdir's or execve's errno);
 *             client: STDIN* then STDIN_EOF (the client keeps its side open until EXIT);
 *             agent:  STDOUT* and STDERR* in the order read, then EXIT. On timeout_ms the agent kills
 *                     the process group (SIGKILL), waits for it to be gone and sends EXIT with timed_out 1.
 *                     If the client hangs up first, the agent kills the process group.
 *   COPY_IN   u32 version, u32 mode (permission bits, <= 07777), string path.
 *             agent:  OK {} once the file is open (created or truncated, then chmod to mode), or ERROR;
 *             client: FILE_DATA* then FILE_END;  agent: OK {u64 bytes written} once closed, or ERROR.
 *   COPY_OUT  u32 version, string path.
 *             agent:  OK {u64 size, AGENT_SIZE_UNKNOWN if not a regular file}, FILE_DATA*, FILE_END;
 *                     or ERROR (at the start or mid-way).
 *   CONNECT   u32 version, u16 port, u16 reserved 0, u32 timeout_ms (0: the kernel's), string host
 *             (a name resolved in the guest with getaddrinfo, or an IPv4/IPv6 literal).
 *             agent:  OK {} once the TCP connection is up, then raw bytes both ways; an end of stream on
 *                     one side becomes shutdown(SHUT_WR) on the other. Or ERROR: connect(2)'s errno, or
 *                     ENOENT (no such name), EAGAIN (resolver unreachable) for a name that did not resolve.
 *
 *   EXIT      u8 how (AGENT_EXIT_CODE / AGENT_EXIT_SIGNAL), u8 timed_out (0/1), u16 reserved 0,
 *             i32 value (the exit code 0..255, or the signal number, Linux numbering).
 *   ERROR     i32 errno (Linux numbering), then the message: UTF-8, no NUL, at most AGENT_MAX_MESSAGE bytes.
 *
 * After EXIT, ERROR or the last OK the agent shuts its side down and closes once the client has closed
 * (or after AGENT_LINGER_MS). Malformed input (unknown type, non-zero reserved fields, a length over its
 * cap, a frame that does not fit its layout, a frame out of turn) gets ERROR {EPROTO} where it can be sent,
 * and the connection is closed; the agent keeps serving the others.
 */
#ifndef AGENT_PROTOCOL_H
#define AGENT_PROTOCOL_H

#define AGENT_PROTOCOL_VERSION 1
#define AGENT_VSOCK_PORT 1024

/* Frame header. */
#define AGENT_HEADER_SIZE 8
#define AGENT_HDR_TYPE 0
#define AGENT_HDR_FLAGS 1
#define AGENT_HDR_RESERVED 2
#define AGENT_HDR_LENGTH 4

/* Frame types. Requests (client, first frame only). */
#define AGENT_T_EXEC 0x01
#define AGENT_T_COPY_IN 0x02
#define AGENT_T_COPY_OUT 0x03
#define AGENT_T_CONNECT 0x04
/* Data from the client. FILE_DATA and FILE_END also go from the agent to the client (COPY_OUT). */
#define AGENT_T_STDIN 0x10
#define AGENT_T_STDIN_EOF 0x11
#define AGENT_T_FILE_DATA 0x12
#define AGENT_T_FILE_END 0x13
/* Replies from the agent. */
#define AGENT_T_OK 0x20
#define AGENT_T_STDOUT 0x21
#define AGENT_T_STDERR 0x22
#define AGENT_T_EXIT 0x23
#define AGENT_T_ERROR 0x24

/* Caps: a value over one of these is malformed input. */
#define AGENT_MAX_PAYLOAD 1048576 /* one frame's payload */
#define AGENT_MAX_ARGV 4096
#define AGENT_MAX_ENV 4096
#define AGENT_MAX_PATH 4096 /* a path or cwd, bytes */
#define AGENT_MAX_HOST 1024 /* a host name or literal, bytes */
#define AGENT_MAX_MESSAGE 1024
/* What senders put in one STDIN/STDOUT/STDERR/FILE_DATA frame at most (receivers accept MAX_PAYLOAD). */
#define AGENT_DATA_CHUNK 65536

/* Request payloads: fixed parts (offsets from the payload start), then the strings. */
#define AGENT_REQ_VERSION 0
#define AGENT_EXEC_TIMEOUT_MS 4
#define AGENT_EXEC_FLAGS 8
#define AGENT_EXEC_ARGC 12
#define AGENT_EXEC_ENVC 16
#define AGENT_EXEC_FIXED 20
#define AGENT_EXEC_F_REPLACE_ENV 0x1
#define AGENT_EXEC_F_KNOWN 0x1
#define AGENT_COPY_IN_MODE 4
#define AGENT_COPY_IN_FIXED 8
#define AGENT_COPY_OUT_FIXED 4
#define AGENT_CONNECT_PORT 4
#define AGENT_CONNECT_RESERVED 6
#define AGENT_CONNECT_TIMEOUT_MS 8
#define AGENT_CONNECT_FIXED 12

/* Reply payloads. */
#define AGENT_OK_EXEC_PID 0 /* u32 */
#define AGENT_OK_EXEC_SIZE 4
#define AGENT_OK_SIZE_VALUE 0 /* u64: COPY_IN's bytes written, COPY_OUT's file size */
#define AGENT_OK_SIZE_SIZE 8
#define AGENT_SIZE_UNKNOWN 0xffffffffffffffffULL
#define AGENT_EXIT_HOW 0
#define AGENT_EXIT_TIMED_OUT 1
#define AGENT_EXIT_RESERVED 2
#define AGENT_EXIT_VALUE 4 /* i32 */
#define AGENT_EXIT_SIZE 8
#define AGENT_EXIT_CODE 0
#define AGENT_EXIT_SIGNAL 1
#define AGENT_ERROR_ERRNO 0 /* i32 */
#define AGENT_ERROR_MESSAGE 4

/* Behaviour the client can rely on. */
#define AGENT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define AGENT_LINGER_MS 5000 /* how long the agent waits for the client to close after its last frame */
#define AGENT_REQUEST_WAIT_MS 60000 /* how long a new connection may take to send its request */
/* Once the command has exited, how long its stdout/stderr may stay open (held by a background process)
   before the agent stops reading them and sends EXIT; those processes keep running. */
#define AGENT_EXEC_DRAIN_MS 1000

#endif
