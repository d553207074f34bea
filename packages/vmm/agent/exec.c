/*
 * EXEC (protocol.h): one poll loop moves STDIN frames into the command's stdin pipe and its stdout
 * and stderr into STDOUT/STDERR frames, one frame in flight at a time, so a client that reads slowly
 * stalls the command's writes instead of growing a buffer here. It enforces timeout_ms by killing the
 * process group, and ends with EXIT once the command has exited and its pipes are drained (or
 * AGENT_EXEC_DRAIN_MS after it exited). This process is a child subreaper: the command's orphaned
 * children are reparented here and reaped, so a killed group leaves no zombies behind.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handlers.h"
#include "io.h"
#include "log.h"
#include "protocol.h"
#include "request.h"
#include "sig.h"
#include "spawn.h"
#include "wire.h"

/* After SIGKILL to the group, how long to wait for all its members to be reaped before EXIT. */
#define GROUP_GONE_WAIT_MS 2000

struct exec_state {
  int client;
  struct frame_reader *rd;
  struct spawned cmd;
  int exited, status;
  int64_t exited_at, deadline; /* deadline 0: no timeout */
  int timed_out;
  const uint8_t *in_p; /* STDIN payload not yet in the pipe (points into the frame reader) */
  size_t in_left;
  int stdin_eof;  /* STDIN_EOF received */
  int next_src;   /* 0: stdout is read first, 1: stderr; alternates for fairness */
  size_t out_len; /* bytes of out[] (one frame) not yet sent, from out_off */
  size_t out_off;
  uint8_t out[AGENT_HEADER_SIZE + AGENT_DATA_CHUNK];
};

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void reap(struct exec_state *s) {
  int status;
  pid_t p;
  while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
    if (p == s->cmd.pid && !s->exited) {
      s->exited = 1;
      s->status = status;
      s->exited_at = now_ms();
    }
  }
}

/* The client is gone or broke the protocol: the session ends, the whole group is killed. */
static void abandon(struct exec_state *s) {
  kill(-s->cmd.pid, SIGKILL);
  while (!s->exited) {
    int status;
    if (waitpid(s->cmd.pid, &status, 0) == s->cmd.pid || errno == ECHILD) s->exited = 1;
  }
  close(s->client);
}

static void violation(struct exec_state *s, const char *why) {
  agent_log("EXEC: closing a connection that broke the protocol: %s", why);
  if (s->out_len == 0 || write_all(s->client, s->out + s->out_off, s->out_len) == 0) {
    send_error(s->client, EPROTO, "protocol violation during EXEC: %s", why);
  }
  abandon(s);
}

/* Takes the client's frames while no STDIN payload is pending. 0, or -1 after a violation. */
static int take_frames(struct exec_state *s) {
  struct frame f;
  const char *why = NULL;
  while (s->in_left == 0) {
    enum fr_status st = fr_next(s->rd, &f, &why);
    if (st == FR_MORE) return 0;
    if (st == FR_BAD) break;
    if (f.type == AGENT_T_STDIN && !s->stdin_eof) {
      if (s->cmd.in_fd >= 0) { /* else the command closed its stdin: the data has nowhere to go */
        s->in_p = f.payload;
        s->in_left = f.len;
      }
    } else if (f.type == AGENT_T_STDIN_EOF && !s->stdin_eof && f.len == 0) {
      s->stdin_eof = 1;
      close_fd(&s->cmd.in_fd);
    } else {
      why = "a frame other than STDIN or STDIN_EOF, or one after STDIN_EOF";
      break;
    }
  }
  if (why == NULL) return 0; /* all taken, or a STDIN payload is now pending */
  violation(s, why);
  return -1;
}

static void feed_stdin(struct exec_state *s) {
  ssize_t w = write(s->cmd.in_fd, s->in_p, s->in_left);
  if (w > 0) {
    s->in_p += w;
    s->in_left -= (size_t)w;
  } else if (w < 0 && errno != EAGAIN && errno != EINTR) { /* EPIPE: the command closed its stdin */
    close_fd(&s->cmd.in_fd);
    s->in_left = 0;
  }
}

/* Reads one chunk of stdout or stderr into the outgoing frame. */
static void read_output(struct exec_state *s, int *fd, uint8_t type) {
  ssize_t n = read(*fd, s->out + AGENT_HEADER_SIZE, AGENT_DATA_CHUNK);
  if (n > 0) {
    put_header(s->out, type, (uint32_t)n);
    s->out_off = 0;
    s->out_len = AGENT_HEADER_SIZE + (size_t)n;
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    close_fd(fd);
  }
}

/* 0, or -1 if the client is gone. */
static int flush_output(struct exec_state *s) {
  ssize_t w = write(s->client, s->out + s->out_off, s->out_len);
  if (w > 0) {
    s->out_off += (size_t)w;
    s->out_len -= (size_t)w;
  } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
    return -1;
  }
  return 0;
}

/* Milliseconds until the timeout or the end of the drain time, -1 if neither is running. */
static int64_t next_wakeup(const struct exec_state *s, int64_t now) {
  int64_t at = INT64_MAX;
  if (!s->exited && s->deadline && !s->timed_out) at = s->deadline;
  if (s->exited && (s->cmd.out_fd >= 0 || s->cmd.err_fd >= 0) && s->exited_at + AGENT_EXEC_DRAIN_MS < at) {
    at = s->exited_at + AGENT_EXEC_DRAIN_MS;
  }
  if (at == INT64_MAX) return -1;
  return at > now ? at - now : 0;
}

/* The main loop; 0 when the command is done and EXIT can be sent, -1 if the connection was abandoned. */
static int run(struct exec_state *s) {
  for (;;) {
    if (sig_take_chld()) reap(s);
    int64_t now = now_ms();
    if (!s->exited && s->deadline && now >= s->deadline && !s->timed_out) {
      kill(-s->cmd.pid, SIGKILL);
      s->timed_out = 1;
    }
    if (s->exited && now >= s->exited_at + AGENT_EXEC_DRAIN_MS) { /* held open by a background process */
      close_fd(&s->cmd.out_fd);
      close_fd(&s->cmd.err_fd);
    }
    if (s->exited && s->cmd.out_fd < 0 && s->cmd.err_fd < 0 && s->out_len == 0) return 0;

    struct pollfd p[4];
    /* While a STDIN payload is pending the reader must not refill (the payload points into it): watch
       the client only for a hang-up then. */
    p[0].fd = s->client;
    p[0].events = (short)((s->in_left ? POLLRDHUP : POLLIN) | (s->out_len ? POLLOUT : 0));
    p[1].fd = s->in_left ? s->cmd.in_fd : -1;
    p[1].events = POLLOUT;
    p[2].fd = s->out_len ? -1 : s->cmd.out_fd;
    p[2].events = POLLIN;
    p[3].fd = s->out_len ? -1 : s->cmd.err_fd;
    p[3].events = POLLIN;
    for (int i = 0; i < 4; i++) p[i].revents = 0;
    if (poll_wait(p, 4, next_wakeup(s, now)) < 0) {
      agent_log("EXEC: poll failed: %s", strerror(errno));
      abandon(s);
      return -1;
    }

    short cr = p[0].revents;
    if (s->in_left && (cr & (POLLRDHUP | POLLHUP | POLLERR))) {
      abandon(s);
      return -1;
    }
    if (!s->in_left && (cr & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = fr_fill(s->rd, s->client);
      if (n == 0 || (n < 0 && errno != EAGAIN)) { /* the client hung up before EXIT */
        abandon(s);
        return -1;
      }
      if (take_frames(s) < 0) return -1;
    }
    if ((cr & POLLOUT) && s->out_len && flush_output(s) < 0) {
      abandon(s);
      return -1;
    }
    if (p[1].revents) feed_stdin(s);
    if (s->in_left == 0 && take_frames(s) < 0) return -1; /* frames that waited behind the payload */
    if (s->out_len == 0) {
      int first = s->next_src;
      for (int k = 0; k < 2 && s->out_len == 0; k++) {
        int i = (first + k) & 1;
        if (!p[2 + i].revents) continue;
        read_output(s, i ? &s->cmd.err_fd : &s->cmd.out_fd, i ? AGENT_T_STDERR : AGENT_T_STDOUT);
      }
      s->next_src ^= 1;
    }
  }
}

/* After a timeout kill: wait (bounded) until every member of the group has been reaped. */
static void wait_group_gone(struct exec_state *s) {
  int64_t end = now_ms() + GROUP_GONE_WAIT_MS;
  for (;;) {
    reap(s);
    if (kill(-s->cmd.pid, 0) < 0 && errno == ESRCH) return;
    kill(-s->cmd.pid, SIGKILL); /* members forked after the first kill */
    int64_t left = end - now_ms();
    if (left <= 0) {
      agent_log("EXEC: process group %d still has members %d ms after SIGKILL", (int)s->cmd.pid,
                GROUP_GONE_WAIT_MS);
      return;
    }
    poll_wait(NULL, 0, left < 20 ? left : 20);
  }
}

void handle_exec(int fd, struct frame_reader *rd, const struct frame *req) {
  struct exec_request r;
  int err;
  char msg[AGENT_MAX_MESSAGE];
  const char *why = parse_exec(req, &r, &err);
  if (why) {
    send_error(fd, err, "bad EXEC request: %s", why);
    conn_finish(fd);
    return;
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  static struct exec_state s;
  memset(&s, 0, sizeof s);
  s.client = fd;
  s.rd = rd;
  if (spawn_command(&r, &s.cmd, &err, msg, sizeof msg) < 0) {
    send_error(fd, err, "%s", msg);
    conn_finish(fd);
    return;
  }
  if (r.timeout_ms) s.deadline = now_ms() + r.timeout_ms;
  uint8_t ok[AGENT_OK_EXEC_SIZE];
  put_le32(ok + AGENT_OK_EXEC_PID, (uint32_t)s.cmd.pid);
  if (send_frame(fd, AGENT_T_OK, ok, sizeof ok) < 0) {
    abandon(&s);
    return;
  }
  if (take_frames(&s) < 0 || run(&s) < 0) return; /* frames that came with the request, then the loop */
  if (s.timed_out) wait_group_gone(&s);
  close_fd(&s.cmd.in_fd);

  uint8_t ex[AGENT_EXIT_SIZE];
  int signaled = WIFSIGNALED(s.status);
  ex[AGENT_EXIT_HOW] = signaled ? AGENT_EXIT_SIGNAL : AGENT_EXIT_CODE;
  ex[AGENT_EXIT_TIMED_OUT] = (uint8_t)s.timed_out;
  put_le16(ex + AGENT_EXIT_RESERVED, 0);
  put_le32(ex + AGENT_EXIT_VALUE, (uint32_t)(signaled ? WTERMSIG(s.status) : WEXITSTATUS(s.status)));
  if (send_frame(fd, AGENT_T_EXIT, ex, sizeof ex) < 0) {
    close(fd);
    return;
  }
  conn_finish(fd);
}
