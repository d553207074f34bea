// A pipe between the host's own threads (a vCPU thread's UART output read on the main thread),
// through the one place libc is bound. Both ends close-on-exec; blocking, as the UART's writer
// expects of a file descriptor (the main thread reads it as it comes).
import { check } from './sys/call';
import { libc } from './sys/libc';

/** <fcntl.h> (x86_64). */
const O_CLOEXEC = 0o2000000;

export interface HostPipe {
  readFd: number;
  writeFd: number;
}

export function createHostPipe(): HostPipe {
  const fds = new Int32Array(2);
  check('pipe2', libc().pipe2(fds, O_CLOEXEC));
  return { readFd: fds[0]!, writeFd: fds[1]! };
}
