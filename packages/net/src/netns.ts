// Running a few system calls inside another network namespace: setns(2) with CLONE_NEWNET on the
// calling thread (allowed in a multi-threaded process for network namespaces), then back.
import { NetSysError } from './errors';
import { CLONE_NEWNET, EINVAL, EPERM, netLibc, O_CLOEXEC, O_RDONLY } from './sys';

/** `/proc/PID/ns/net` for a PID, or the path as given (e.g. /var/run/netns/NAME). */
export function netnsPath(pathOrPid: string): string {
  return /^\d+$/.test(pathOrPid) ? `/proc/${pathOrPid}/ns/net` : pathOrPid;
}

/** Opens a namespace file; the caller closes the fd. */
export function openNetns(pathOrPid: string): number {
  const libc = netLibc();
  const path = netnsPath(pathOrPid);
  const fd = libc.open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const e = libc.errno();
    throw new NetSysError(
      'open',
      e,
      `cannot open network namespace ${path}: ${libc.strerror(e)}; give a path like /var/run/netns/NAME or a PID`,
    );
  }
  return fd;
}

/** Runs `fn` (synchronous) with the calling thread inside the network namespace, then switches back. */
export function withNetns<T>(pathOrPid: string, fn: () => T): T {
  const libc = netLibc();
  const self = libc.open('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    const e = libc.errno();
    throw new NetSysError('open', e, `cannot open this thread's network namespace: ${libc.strerror(e)}`);
  }
  try {
    const target = openNetns(pathOrPid);
    try {
      if (libc.setns(target, CLONE_NEWNET) !== 0) {
        const e = libc.errno();
        // setns(2): EINVAL, the file is not a network namespace; EPERM, no CAP_SYS_ADMIN.
        const why =
          e === EINVAL
            ? 'it is not a network namespace: give /var/run/netns/NAME (ip netns add NAME) or a PID'
            : e === EPERM
              ? 'vmm nat needs CAP_SYS_ADMIN: run as root'
              : 'check the path or PID';
        throw new NetSysError(
          'setns',
          e,
          `cannot enter network namespace ${netnsPath(pathOrPid)}: ${libc.strerror(e)} (${why})`,
        );
      }
    } finally {
      libc.close(target);
    }
    let result: { value: T } | { error: unknown };
    try {
      result = { value: fn() };
    } catch (error) {
      result = { error };
    }
    if (libc.setns(self, CLONE_NEWNET) !== 0) {
      const e = libc.errno();
      // a thread left in the wrong namespace would send the NAT's traffic there: refuse to go on
      throw new NetSysError(
        'setns',
        e,
        `cannot return to the original network namespace: ${libc.strerror(e)}`,
      );
    }
    if ('error' in result) throw result.error;
    return result.value;
  } finally {
    libc.close(self);
  }
}
