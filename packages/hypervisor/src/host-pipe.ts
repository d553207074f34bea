// A pipe between the host's own threads (a vCPU thread's UART output read on the main thread),
// through the one place libc is bound. Both ends close-on-exec and non-blocking: the main thread
// reads its end as a stream, and a writer that finds the pipe full waits in its own loop, where a
// stop can end the wait (a write blocked in the kernel could not be ended).
import { check } from './sys/call';
import { F_GETFL, F_SETFL, O_CLOEXEC, O_NONBLOCK } from './sys/fs-constants';
import { libc } from './sys/libc';

export interface HostPipe {
  readFd: number;
  writeFd: number;
}

export function createHostPipe(): HostPipe {
  const fds = new Int32Array(2);
  check('pipe2', libc().pipe2(fds, O_CLOEXEC | O_NONBLOCK));
  return { readFd: fds[0]!, writeFd: fds[1]! };
}

/**
 * Make the open file description of `fd` non-blocking (as libuv does to a pipe or socket it opens
 * as a stream), for a writer that must be able to stop waiting on a reader that does not read: a
 * socket cannot be opened again through /proc for a description of its own.
 */
export function setNonBlocking(fd: number): void {
  const flags = check('fcntl', libc().fcntlInt(fd, F_GETFL, 0));
  if ((flags & O_NONBLOCK) === 0) check('fcntl', libc().fcntlInt(fd, F_SETFL, flags | O_NONBLOCK));
}
