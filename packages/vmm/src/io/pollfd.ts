// poll(2) on a table of struct pollfd (its layout: @vmm/hypervisor's fsLayout.POLLFD, checked
// against <poll.h> by gcc).
import koffi from 'koffi';
import { fsConst, fsLayout } from '@vmm/hypervisor';

export const POLLFD_SIZE = fsLayout.POLLFD.size;
export const POLLFD_FD = fsLayout.POLLFD.fields.fd;
export const POLLFD_EVENTS = fsLayout.POLLFD.fields.events;
export const POLLFD_REVENTS = fsLayout.POLLFD.fields.revents;
export const POLLIN = fsConst.POLLIN;

/** poll(fds, nfds, timeout) on a table of struct pollfd; `async` runs it on a thread of libuv's pool. */
export interface PollCall {
  (fds: Uint8Array, nfds: number, timeout: number): number;
  async(fds: Uint8Array, nfds: number, timeout: number, done: (err: unknown, n: number) => void): void;
}

/** Bind poll(2) from the C library (koffi). */
export function bindPoll(): PollCall {
  return koffi
    .load('libc.so.6')
    .func('int poll(_Inout_ uint8_t *fds, uint64_t nfds, int timeout)') as PollCall;
}

/** A table of struct pollfd that waits for POLLIN on each of `fds`, in order. */
export function pollTable(fds: readonly number[]): Uint8Array {
  const t = new Uint8Array(fds.length * POLLFD_SIZE);
  const dv = new DataView(t.buffer);
  fds.forEach((fd, i) => {
    dv.setInt32(i * POLLFD_SIZE + POLLFD_FD, fd, true);
    dv.setInt16(i * POLLFD_SIZE + POLLFD_EVENTS, POLLIN, true);
  });
  return t;
}
