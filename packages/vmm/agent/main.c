/*
 * vmm-agent: the guest agent of @vmm/vmm. It runs inside a Linux guest, listens on vsock (port 1024
 * by default, any CID) and serves one operation per connection: run a command (EXEC), copy a file in
 * or out (COPY_IN, COPY_OUT), or open a TCP connection from the guest and relay it (CONNECT). The
 * protocol is in protocol.h; the TypeScript client is packages/vmm/src/agent/client.ts.
 *
 *   vmm-agent [--port N]             serve vsock port N (default AGENT_VSOCK_PORT)
 *   vmm-agent --unix PATH            serve a Unix socket instead (the same protocol, on the host, for tests)
 *   vmm-agent --init-then INIT [--] [ARG...]
 *                                    init mode (init.h): serve in a forked daemon, exec INIT as this process
 *
 * Started as PID 1 (rdinit=/vmm-agent on the kernel command line) it goes into init mode with /init,
 * and every argument it does not know is passed on to that init, as the kernel meant it for init.
 *
 * Built static (scripts/build-agent.mjs: gcc -static -Os against glibc) so it runs in any initramfs.
 * glibc's getaddrinfo then warns at link time that it wants NSS modules at run time; glibc 2.34+ has
 * the "files" and "dns" sources built in and uses them when /etc/nsswitch.conf is missing, so names
 * resolve from /etc/hosts and /etc/resolv.conf in a minimal initramfs too (checked in a chroot holding
 * only this binary and /etc/hosts).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "init.h"
#include "listen.h"
#include "log.h"
#include "protocol.h"
#include "server.h"
#include "sig.h"

#define DEFAULT_INIT "/init"
/* A vsock device may still be probing when init starts: retry this long before giving up. */
#define VSOCK_RETRY_MS 30000

struct options {
  unsigned port;
  const char *unix_path;
  const char *init_path; /* init mode when set */
  char **init_argv;      /* argv for the init: [0] is a placeholder, then the passed-on arguments */
};

static void usage(const char *why) {
  fprintf(stderr,
          "vmm-agent: %s\n"
          "usage: vmm-agent [--port N | --unix PATH] [--init-then INIT [--] [ARG...]]\n",
          why);
  exit(2);
}

static unsigned parse_port(const char *s) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *s == 0 || *end != 0 || v == 0 || v > 0xffffffffUL) {
    usage("--port takes a number from 1 to 4294967295");
  }
  return (unsigned)v;
}

static void parse(int argc, char **argv, struct options *o) {
  int pid1 = getpid() == 1;
  o->port = AGENT_VSOCK_PORT;
  o->init_path = pid1 ? DEFAULT_INIT : NULL;
  o->init_argv = calloc((size_t)argc + 1, sizeof *o->init_argv);
  if (!o->init_argv) usage("out of memory");
  int n = 1, rest = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (rest) {
      o->init_argv[n++] = argv[i];
    } else if (strcmp(a, "--") == 0) {
      rest = 1;
    } else if (strcmp(a, "--port") == 0 && i + 1 < argc) {
      o->port = parse_port(argv[++i]);
    } else if (strcmp(a, "--unix") == 0 && i + 1 < argc) {
      o->unix_path = argv[++i];
    } else if (strcmp(a, "--init-then") == 0 && i + 1 < argc) {
      o->init_path = argv[++i];
    } else if (strcmp(a, "--help") == 0 && !pid1) {
      usage("the guest agent of @vmm/vmm");
    } else if (pid1 || o->init_path) {
      o->init_argv[n++] = argv[i]; /* the kernel's arguments for init */
    } else {
      fprintf(stderr, "vmm-agent: unknown argument '%s'\n", a);
      usage("see the usage line");
    }
  }
  if (rest && !o->init_path) usage("arguments after -- are for the init of --init-then");
}

/* fds 0-2 must exist, or the command pipes could land on them. */
static void ensure_std_fds(void) {
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) continue;
    int n = open("/dev/null", O_RDWR);
    if (n < 0) n = open("/", O_RDONLY); /* no /dev yet: any descriptor holds the slot */
    if (n >= 0 && n != fd) {
      dup2(n, fd);
      close(n);
    }
  }
}

static int open_listener(const struct options *o) {
  if (o->unix_path) return listen_unix(o->unix_path);
  int64_t waited = 0;
  for (;;) {
    int s = listen_vsock(o->port);
    if (s >= 0 || waited >= VSOCK_RETRY_MS) return s;
    if (waited == 0) {
      agent_log("vsock port %u not available yet (%s); retrying for %d s", o->port, strerror(errno),
                VSOCK_RETRY_MS / 1000);
    }
    usleep(200 * 1000);
    waited += 200;
  }
}

int main(int argc, char **argv) {
  struct options o;
  memset(&o, 0, sizeof o);
  ensure_std_fds();
  parse(argc, argv, &o);
  if (o.init_path) init_then(o.init_path, o.init_argv, argv[0]);

  sig_setup();
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int s = open_listener(&o);
  if (s < 0) {
    if (o.unix_path) {
      agent_log("cannot listen on unix socket %s: %s", o.unix_path, strerror(errno));
    } else {
      agent_log("cannot listen on vsock port %u: %s (is the guest kernel built with CONFIG_VIRTIO_VSOCKETS?)",
                o.port, strerror(errno));
    }
    return 1;
  }
  if (o.unix_path) agent_log("listening on unix socket %s", o.unix_path);
  else agent_log("listening on vsock port %u", o.port);
  serve_forever(s);
}
