// A pipe between the host's own threads (a vCPU thread's UART output read on the main thread),
// through the one place libc is bound. Both ends close-on-exec and non-blocking: the main thread
// reads its end as a stream, and a writer that finds the pipe full waits in its own loop, where a
// stop can end the wait (a write blocked in the kernel could not be ended).
import { check } from './sys/call';
import { O_CLOEXEC, O_NONBLOCK } from './sys/fs-constants';
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
