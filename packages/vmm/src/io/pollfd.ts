// struct pollfd (poll(2), <poll.h>): { int fd; short events; short revents; }, 8 bytes.
export const POLLFD_SIZE = 8;
export const POLLFD_FD = 0;
export const POLLFD_EVENTS = 4;
export const POLLFD_REVENTS = 6;
export const POLLIN = 0x001;
