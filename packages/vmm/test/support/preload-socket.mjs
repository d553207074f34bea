// Tests only: a preload (node --import) that, as tsx's does, connects a socket in every thread it
// runs in. Its connection completing in a vCPU thread after that thread's seccomp filter (libuv's
// getsockopt) would kill the process with SIGSYS.
import net from 'node:net';
import { isMainThread } from 'node:worker_threads';

if (!isMainThread)
  net
    .connect(process.env.PRELOAD_SOCKET)
    .on('error', () => {})
    .unref();
