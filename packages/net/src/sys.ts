// koffi bindings to the C library calls the tap frontend and the namespace switch make. Bound on
// first use. Each returns the raw C result; `errno()` reads the error number koffi saved.
import koffi from 'koffi';

export interface NetLibc {
  open(path: string, flags: number): number;
  close(fd: number): number;
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  /** ioctl whose argument is an integer passed by value (TUNSETOFFLOAD). */
  ioctlValue(fd: number, request: number, arg: number): number;
  read(fd: number, buf: Uint8Array, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  setns(fd: number, nstype: number): number;
  /** poll(fds, nfds, timeout) on a worker thread (koffi async): never blocks the event loop. */
  pollAsync(fds: Uint8Array, nfds: number, timeoutMs: number, cb: (err: unknown, res: number) => void): void;
  errno(): number;
  strerror(errno: number): string;
}

export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const O_RDONLY = 0;
export const CLONE_NEWNET = 0x40000000;
export const EAGAIN = 11;
export const EINTR = 4;
export const EPERM = 1;
export const EINVAL = 22;
export const POLLIN = 0x001;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

let cached: NetLibc | undefined;

export function netLibc(): NetLibc {
  if (cached) return cached;
  const lib = koffi.load('libc.so.6');
  const open = lib.func('int open(const char *path, int flags)');
  const close = lib.func('int close(int fd)');
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, void *arg)');
  const ioctlValue = lib.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']);
  const read = lib.func('int64_t read(int fd, void *buf, size_t count)');
  const write = lib.func('int64_t write(int fd, const void *buf, size_t count)');
  const setns = lib.func('int setns(int fd, int nstype)');
  const poll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)');
  const strerror = lib.func('const char *strerror(int errnum)');
  cached = {
    open: (p, f) => open(p, f) as number,
    close: (fd) => close(fd) as number,
    ioctl: (fd, r, a) => ioctl(fd, r, a) as number,
    ioctlValue: (fd, r, a) => ioctlValue(fd, r, a) as number,
    read: (fd, b, n) => Number(read(fd, b, n)),
    write: (fd, b, n) => Number(write(fd, b, n)),
    setns: (fd, t) => setns(fd, t) as number,
    pollAsync: (fds, n, t, cb) => poll.async(fds, n, t, cb),
    errno: () => koffi.errno(),
    strerror: (e) => strerror(e) as string,
  };
  return cached;
}
