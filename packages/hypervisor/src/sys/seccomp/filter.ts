// A seccomp allow-list as a BPF program (Documentation/userspace-api/seccomp_filter.rst): the
// architecture must be x86_64 (else the process is killed: a 32-bit or x32 entry could reach
// other calls under the same numbers), the call must be on the list, and an ioctl's request must
// be one of those named. Anything else gets the default action: kill the process (`on`), or let
// it through and have the kernel log it (`log`, SECCOMP_RET_LOG), as Cloud Hypervisor's
// --seccomp true|log do.
//
// One call is answered instead: a read-only openat on a thread not allowed to open gets EACCES.
// glibc's malloc opens /proc/sys/vm/overcommit_memory (O_RDONLY|O_CLOEXEC) once per process, from
// whichever thread first shrinks a thread arena's heap (check_may_shrink_heap in
// sysdeps/unix/sysv/linux/malloc-sysdep.h), so any filtered thread may make that call after its
// filter is on, depending on what the others freed before. Refused, glibc assumes the usual
// overcommit and goes on; killed, the monitor died at a guest's first large write. Cloud Hypervisor
// met the same call (its PRs 3610 and 8646) and allows read-only opens; refusing them keeps a
// filtered thread from reading any file.
import { BpfAssembler, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, seccompArgHigh, seccompArgLow } from './bpf';
import { X86_64_SYSCALLS, type SyscallName } from './syscalls-x86_64';

// include/uapi/linux/seccomp.h
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
/** The call fails with the errno in the low 16 bits. */
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
/** AUDIT_ARCH_X86_64: EM_X86_64 (62) | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE (include/uapi/linux/audit.h). */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** include/uapi/asm-generic/fcntl.h: O_RDONLY is 0. */
const O_CLOEXEC = 0o2000000;
/** include/uapi/asm-generic/errno-base.h */
const EACCES = 13;

export interface SeccompPolicy {
  /** System calls the thread may make. */
  syscalls: readonly SyscallName[];
  /** With 'ioctl' among them: the requests it may pass (the second argument); others are refused. */
  ioctls?: readonly number[];
}

export type SeccompMode = 'on' | 'log';

/** The policy as struct sock_filter[]. */
export function buildSeccompFilter(policy: SeccompPolicy, mode: SeccompMode): Uint8Array {
  const deny = mode === 'on' ? SECCOMP_RET_KILL_PROCESS : SECCOMP_RET_LOG;
  const names = [...new Set(policy.syscalls)];
  const ioctlChecked = policy.ioctls !== undefined && names.includes('ioctl');
  const answerOpen = !names.includes('openat');
  const a = new BpfAssembler();
  a.load(SECCOMP_DATA_ARCH).jeq(AUDIT_ARCH_X86_64, '', 'kill');
  a.load(SECCOMP_DATA_NR);
  for (const name of names) {
    if (ioctlChecked && name === 'ioctl') a.jeq(X86_64_SYSCALLS.ioctl, 'ioctl');
    else a.jeq(X86_64_SYSCALLS[name], 'allow');
  }
  if (answerOpen) a.jeq(X86_64_SYSCALLS.openat, 'openat');
  a.ret(deny);
  if (answerOpen) {
    // openat(dirfd, path, flags, mode): flags is an int, the low half of argument 2.
    a.label('openat').load(seccompArgLow(2)).jeq(O_CLOEXEC, 'refuse-open');
    a.ret(deny);
    a.label('refuse-open').ret(SECCOMP_RET_ERRNO | EACCES);
  }
  if (ioctlChecked) {
    a.label('ioctl');
    // The request is an unsigned long: its high half must be 0, its low half one of ours.
    a.load(seccompArgHigh(1)).jeq(0, '', 'deny-ioctl');
    a.load(seccompArgLow(1));
    for (const req of new Set(policy.ioctls)) a.jeq(req >>> 0, 'allow');
    a.label('deny-ioctl').ret(deny);
  }
  a.label('kill').ret(SECCOMP_RET_KILL_PROCESS);
  a.label('allow').ret(SECCOMP_RET_ALLOW);
  return a.encode();
}
