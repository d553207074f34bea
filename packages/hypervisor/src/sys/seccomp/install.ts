// Installing a seccomp filter on the calling thread only: prctl(PR_SET_NO_NEW_PRIVS) (required
// to filter without CAP_SYS_ADMIN), then prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), which
// is seccomp(SECCOMP_SET_MODE_FILTER) without SECCOMP_FILTER_FLAG_TSYNC: the other threads of the
// process (the main thread, other vCPUs, Node's own) keep what they had. Filters are inherited by
// threads this one creates, and cannot be removed.
import { VmmError } from '../../errors';
import { describeErrno } from '../errno';
import { addressOf, lastErrno, libc } from '../libc';
import { buildSeccompFilter, type SeccompMode, type SeccompPolicy } from './filter';
import { SOCK_FILTER_SIZE } from './bpf';

// include/uapi/linux/prctl.h, include/uapi/linux/seccomp.h
const PR_SET_SECCOMP = 22;
const PR_SET_NO_NEW_PRIVS = 38;
const SECCOMP_MODE_FILTER = 2;
/** struct sock_fprog { unsigned short len; struct sock_filter *filter; } on x86_64: 16 bytes. */
const SOCK_FPROG_SIZE = 16;
const SOCK_FPROG_FILTER = 8;

/** The kernel refused a filter (no CONFIG_SECCOMP_FILTER, or a malformed program). */
export class SeccompError extends VmmError {}

/** Filter this thread: from now on it may make only the calls `policy` names. */
export function installSeccomp(policy: SeccompPolicy, mode: SeccompMode): void {
  if (process.arch !== 'x64') {
    throw new SeccompError(
      'ESECCOMP',
      `seccomp filters are written for x86_64, not ${process.arch}: run with --seccomp false`,
    );
  }
  const prog = buildSeccompFilter(policy, mode);
  const fprog = new Uint8Array(SOCK_FPROG_SIZE);
  const dv = new DataView(fprog.buffer);
  dv.setUint16(0, prog.length / SOCK_FILTER_SIZE, true);
  dv.setBigUint64(SOCK_FPROG_FILTER, addressOf(prog), true);
  const c = libc();
  if (c.prctl(PR_SET_NO_NEW_PRIVS, 1, 0) !== 0) fail('PR_SET_NO_NEW_PRIVS');
  // `prog` stays referenced until the call returns: the kernel copies it.
  if (c.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog) !== 0) fail('PR_SET_SECCOMP');
  void prog.length;
}

function fail(what: string): never {
  const errno = lastErrno();
  throw new SeccompError(
    'ESECCOMP',
    `prctl(${what}) failed: ${describeErrno(errno)}; this kernel may lack CONFIG_SECCOMP_FILTER: run with --seccomp false`,
  );
}
