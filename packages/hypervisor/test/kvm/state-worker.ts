// Tests only: a vCPU thread as the monitor's: attaches the vCPU, filters its own ioctls to the
// vCPU's threadIoctls with seccomp (any other kills the process), then either runs the guest of
// state-guest.ts to its `in` from the port, answers it and saves the vCPU's state there (no
// `restore`), or restores the state it was handed and runs on to the next `out` (answering an `in`
// with `inValue`). Posts each port access, the state (through postMessage's structured clone), or
// the first exit that is not io.
import { parentPort, workerData } from 'node:worker_threads';
import { installSeccomp } from '../../src/sys/seccomp/install';
import type { SyscallName } from '../../src/sys/seccomp/syscalls-x86_64';
import { attachKvmVcpu, type KvmVcpuHandle } from '../../src/kvm/vcpu';
import type { VcpuSnapshot } from '../../src/types';
import { PORT } from './state-guest';

const {
  vcpu: handle,
  threadIoctls,
  restore,
  inValue,
} = workerData as {
  vcpu: KvmVcpuHandle;
  threadIoctls: number[];
  restore: VcpuSnapshot | null;
  inValue: number;
};
/** What a Node worker thread does while it runs and ends (as @vmm/vmm's vcpuThreadPolicy allows). */
// prettier-ignore
const WORKER_SYSCALLS: SyscallName[] = [
  'read', 'write', 'writev', 'close', 'mmap', 'munmap', 'mprotect', 'madvise', 'mremap', 'brk', 'futex',
  'clock_gettime', 'clock_nanosleep', 'nanosleep', 'gettimeofday', 'sched_yield', 'getpid', 'gettid',
  'rt_sigprocmask', 'rt_sigreturn', 'rt_sigaction', 'rt_sigtimedwait', 'sigaltstack', 'epoll_wait',
  'epoll_pwait', 'epoll_ctl', 'getrandom', 'membarrier', 'restart_syscall', 'exit', 'exit_group', 'ioctl',
];
const vcpu = attachKvmVcpu(handle);
installSeccomp({ syscalls: WORKER_SYSCALLS, ioctls: threadIoctls }, 'on');
if (restore) vcpu.restoreState(restore);
for (;;) {
  const exit = vcpu.run();
  if (exit.kind === 'io' && exit.port === PORT && exit.direction === 'in') {
    exit.data[0] = inValue;
    parentPort!.postMessage({ kind: 'in' });
    if (restore) continue;
    parentPort!.postMessage({ state: vcpu.saveState() });
    break;
  }
  if (exit.kind === 'io' && exit.port === PORT) {
    parentPort!.postMessage({ kind: 'io', value: exit.data[0] });
    break;
  }
  if (exit.kind !== 'io') {
    parentPort!.postMessage({
      kind: exit.kind,
      detail: JSON.stringify(exit, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)),
    });
    break;
  }
}
vcpu.close();
