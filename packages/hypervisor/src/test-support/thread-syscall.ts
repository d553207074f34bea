// Tests only: the system call a thread of this process sleeps in, from /proc/self/task/TID/syscall
// (proc(5): the call's number and its six arguments, "running", or -1 outside a call). A test waits
// until a thread sleeps where it should, instead of sleeping a fixed time and hoping it does.
import fs from 'node:fs';

/** The calls tests wait in, and those a stuck thread's report names, per architecture
 * (arch/x86/entry/syscalls/syscall_64.tbl; arm64 uses include/uapi/asm-generic/unistd.h, which has
 * no plain poll or epoll_wait: glibc's poll() is ppoll there). */
const NUMBERS: Record<string, Record<number, WaitCall>> = {
  x64: {
    0: 'read',
    1: 'write',
    7: 'poll',
    16: 'ioctl',
    128: 'sigtimedwait',
    202: 'futex',
    232: 'epoll_wait',
    271: 'ppoll',
    281: 'epoll_pwait',
  },
  arm64: {
    22: 'epoll_pwait',
    29: 'ioctl',
    63: 'read',
    64: 'write',
    73: 'ppoll',
    98: 'futex',
    137: 'sigtimedwait',
  },
};

/** ioctl: a vCPU thread sleeps in KVM_RUN while its guest is halted; futex: on a lock or Atomics.wait. */
export type WaitCall =
  'poll' | 'ppoll' | 'sigtimedwait' | 'ioctl' | 'read' | 'write' | 'futex' | 'epoll_wait' | 'epoll_pwait';

/** The name of system call `nr` on this architecture, when the table above has it. */
export function syscallName(nr: number): WaitCall | undefined {
  return NUMBERS[process.arch]?.[nr];
}

export interface Sleeping {
  call: WaitCall;
  /** The six argument registers, as the kernel saved them. */
  args: bigint[];
}

/** The threads of this process, by tid. */
export function threadIds(): number[] {
  return fs.readdirSync('/proc/self/task').map(Number);
}

/** What thread `tid` sleeps in: one of the calls above, or undefined (running, elsewhere, gone). */
export function sleepingIn(tid: number): Sleeping | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/self/task/${tid}/syscall`, 'utf8');
  } catch {
    return undefined;
  }
  const [nr, ...rest] = text.trim().split(' ');
  const call = syscallName(Number(nr));
  if (!call || rest.length < 6) return undefined;
  return { call, args: rest.slice(0, 6).map((a) => BigInt(a)) };
}

/**
 * Why sleepingIn() cannot work here (undefined: it can): an architecture without numbers above,
 * or a kernel that does not show a sleeping thread's call (no /proc/PID/task/TID/syscall).
 */
export const sleepingInUnavailable: string | undefined = (() => {
  if (!NUMBERS[process.arch]) return `no system call numbers for ${process.arch}`;
  try {
    // This thread is running while it reads its own file: the kernel says so.
    const self = fs.readFileSync('/proc/thread-self/syscall', 'utf8').trim();
    return self === 'running' || /^-?\d+ /.test(self)
      ? undefined
      : `/proc/thread-self/syscall says "${self}"`;
  } catch (e) {
    return `/proc/thread-self/syscall cannot be read (${(e as Error).message})`;
  }
})();

/** poll(2) with no timeout on `nfds` descriptors: a thread that only a descriptor can wake. */
export function inEndlessPoll(s: Sleeping | undefined, nfds: number): boolean {
  const [, n, timeout] = s?.args ?? [];
  if (n !== BigInt(nfds) || timeout === undefined) return false;
  // poll(fds, nfds, int timeout): -1 in the low 32 bits; ppoll(fds, nfds, NULL, ...).
  if (s?.call === 'poll') return (timeout & 0xffffffffn) === 0xffffffffn;
  return s?.call === 'ppoll' && timeout === 0n;
}
