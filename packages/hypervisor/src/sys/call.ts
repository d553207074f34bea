// Turning a failed system call into a HypervisorCallError: "KVM_RUN failed: EFAULT (Bad address)".
import { HypervisorCallError } from '../errors';
import { describeErrno } from './errno';
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
