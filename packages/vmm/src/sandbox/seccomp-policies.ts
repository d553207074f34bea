// What each of the monitor's threads may ask of the kernel once it runs guest-driven work: the
// allow-lists its seccomp filter is built from (@vmm/hypervisor installSeccomp). Found by tracing
// each thread from the moment it installs its filter to its exit (strace -f, every test tier),
// then kept to what the code needs: a thread that reads a guest's rings has no business opening
// files, sockets or processes, so a compromise of one stays inside what it already holds.

import type { SyscallName } from '@vmm/hypervisor';

/**
 * What any Node worker thread does while it runs and when it ends, whatever its job: memory for
 * its heap (mmap, mprotect, madvise, ...), futexes (Atomics.wait, locks), clocks (where the vDSO
 * falls back), signals (blocked and unblocked, the kick), its event loop (epoll) and message ports
 * (eventfd reads and writes), and tearing down (close, exit).
 */
const NODE_WORKER: readonly SyscallName[] = [
  'read',
  'write',
  'close',
  'mmap',
  'munmap',
  'mprotect',
  'madvise',
  'mremap',
  'brk',
  'futex',
  'clock_gettime',
  'clock_nanosleep',
  'nanosleep',
  'gettimeofday',
  'sched_yield',
  'getpid',
  'gettid',
  'rt_sigprocmask',
  'rt_sigreturn',
  'sigaltstack',
  'epoll_wait',
  'epoll_pwait',
  'epoll_ctl',
  'getrandom',
  'membarrier',
  'restart_syscall',
  'exit',
  'exit_group',
];

/**
 * A vCPU thread: KVM_RUN and the few vCPU ioctls its loop makes (the backend names them), writes
 * of UART output and irqfds, and the kick signal: its first run() installs the handler and blocks
 * it (rt_sigaction, rt_sigprocmask), and a kick that arrived outside KVM_RUN is consumed with
 * rt_sigtimedwait.
 */
export function vcpuThreadPolicy(ioctls: readonly number[]): { syscalls: SyscallName[]; ioctls: number[] } {
  return {
    syscalls: [...NODE_WORKER, 'ioctl', 'writev', 'rt_sigaction', 'rt_sigtimedwait'],
    ioctls: [...ioctls],
  };
}

/**
 * A device's I/O thread: poll(2) on its eventfds (kicks, its wake-up), irqfd writes, and what
 * its device says it needs to serve the guest (DeviceThreadSpec.syscalls: a disk's file I/O, say).
 * No open, no socket, no ioctl unless the device names them.
 */
export function deviceThreadPolicy(deviceSyscalls: readonly SyscallName[]): { syscalls: SyscallName[] } {
  return { syscalls: [...new Set<SyscallName>([...NODE_WORKER, 'poll', 'ppoll', ...deviceSyscalls])] };
}
