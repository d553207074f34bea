// Turning a failed system call into a HypervisorCallError: "KVM_RUN failed: EFAULT (Bad address)".
import { HypervisorCallError } from '../errors';
import { EINTR, describeErrno } from './errno';
import { lastErrno } from './libc';

/** The error for `call` failing with `errno`, plus what the caller was doing when given. */
export function callError(call: string, errno: number, context?: string): HypervisorCallError {
  const where = context ? ` (${context})` : '';
  return new HypervisorCallError(call, errno, `${call} failed${where}: ${describeErrno(errno)}`);
}

/** Returns `ret` when >= 0; otherwise throws the HypervisorCallError for errno. */
export function check(call: string, ret: number, context?: string): number {
  if (ret < 0) throw callError(call, lastErrno(), context);
  return ret;
}

/** How many times an interrupted call is made again before its EINTR is reported. */
const INTERRUPTED_TRIES = 1000;

/**
 * Make `call` (a system call returning < 0 with errno on failure) again while it fails with EINTR.
 * For the calls the kernel gives up on when a signal is pending rather than restarting them:
 * KVM_CREATE_VM registers the VM's MMU notifier, which takes every lock of the process's address
 * space and returns EINTR if a signal comes meanwhile (a CPU profiler's SIGPROF every 50 µs failed
 * 77-93 of 100 creates in the nested-KVM VM). QEMU makes KVM_CREATE_VM again on EINTR too.
 */
export function retryInterrupted(call: () => number): number {
  let ret = call();
  for (let i = 1; ret < 0 && i < INTERRUPTED_TRIES && lastErrno() === EINTR; i++) ret = call();
  return ret;
}
