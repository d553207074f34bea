// poll(2) on a table of struct pollfd (its layout: @vmm/hypervisor's fsLayout.POLLFD, checked
// against <poll.h> by gcc).
import koffi from 'koffi';
import { fsConst, fsLayout } from '@vmm/hypervisor';

export { pollTable } from '@vmm/hypervisor';

export const POLLFD_SIZE = fsLayout.POLLFD.size;
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
