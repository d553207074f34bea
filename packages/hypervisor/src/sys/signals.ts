// The vCPU kick signal, the QEMU way: a real-time signal that each vCPU thread keeps blocked,
// unblocked only inside KVM_RUN (KVM_SET_SIGNAL_MASK), sent with tgkill to that thread, and
// consumed afterwards with sigtimedwait. No handler runs, ever.
//
// The disposition is SIG_IGN, so a stray kick (a thread that exited, its tid reused) is dropped
// and never kills the process. That does not lose kicks: the kernel does not ignore a signal that
// is blocked (or in `real_blocked`, the mask saved while KVM_RUN or sigtimedwait run with a
// temporary one: virt/kvm/kvm_main.c kvm_sigset_activate(), kernel/signal.c do_sigtimedwait())
// in the target thread (kernel/signal.c sig_ignored()), so it stays pending and KVM_RUN returns
// EINTR. Node itself uses no real-time signal.
import { check } from './call';
import { EAGAIN, EINTR } from './errno';
import { lastErrno, libc } from './libc';

const SIG_BLOCK = 0;
const SIG_UNBLOCK = 1;
const SIG_SETMASK = 2;
const SIG_IGN = 1n;

/** glibc's sigset_t is 1024 bits; the kernel's (KVM_SET_SIGNAL_MASK) is 64. */
export const LIBC_SIGSET_BYTES = 128;
export const KERNEL_SIGSET_BYTES = 8;

let kickSignal: number | undefined;

/** The kick signal: SIGRTMIN+6 (glibc keeps 32 and 33 for itself; SIGRTMIN is 34 on glibc). */
export function vcpuKickSignal(): number {
  if (kickSignal === undefined) {
    const sig = libc().sigrtmin() + 6;
    libc().signal(sig, SIG_IGN);
    kickSignal = sig;
  }
  return kickSignal;
}

/** A sigset_t with just `sig`. */
export function sigsetOf(sig: number): Uint8Array {
  const set = new Uint8Array(LIBC_SIGSET_BYTES);
  const bit = sig - 1;
  set[bit >> 3] = 1 << (bit & 7);
  return set;
}

/** Every signal (glibc leaves out its own two; SIGKILL and SIGSTOP cannot be blocked). */
const ALL_SIGNALS = new Uint8Array(LIBC_SIGSET_BYTES).fill(0xff);

/**
 * Run `call` with every signal blocked in the calling thread, then put its mask back: for a
 * system call that a pending signal makes fail with EINTR however often it is made again while
 * signals keep coming (KVM_CREATE_VM under a CPU profiler's SIGPROF). Signals that come meanwhile
 * stay pending and are delivered once the mask is back.
 */
export function withSignalsBlocked<T>(call: () => T): T {
  const old = new Uint8Array(LIBC_SIGSET_BYTES);
  const err = libc().pthreadSigmask(SIG_BLOCK, ALL_SIGNALS, old);
  if (err !== 0) throw new Error(`pthread_sigmask failed: errno ${err}`);
  try {
    return call();
  } finally {
    libc().pthreadSigmask(SIG_SETMASK, old, null);
  }
}

/** Block the kick signal in the calling thread; returns the thread's mask from before. */
export function blockKickSignal(): Uint8Array {
  const old = new Uint8Array(LIBC_SIGSET_BYTES);
  const err = libc().pthreadSigmask(SIG_BLOCK, sigsetOf(vcpuKickSignal()), old);
  if (err !== 0) throw new Error(`pthread_sigmask failed: errno ${err}`);
  return old;
}

/** Unblock the kick signal in the calling thread (a thread done running a vCPU; tests). */
export function unblockKickSignal(): void {
  libc().pthreadSigmask(SIG_UNBLOCK, sigsetOf(vcpuKickSignal()), null);
}

/** The calling thread's mask with the kick signal removed, in the kernel's 8-byte form. */
export function runSignalMask(): Uint8Array {
  const current = new Uint8Array(LIBC_SIGSET_BYTES);
  const err = libc().pthreadSigmask(SIG_BLOCK, null, current);
  if (err !== 0) throw new Error(`pthread_sigmask failed: errno ${err}`);
  const bit = vcpuKickSignal() - 1;
  current[bit >> 3]! &= ~(1 << (bit & 7));
  return current.slice(0, KERNEL_SIGSET_BYTES);
}

/** Send the kick signal to thread `tid` of this process. */
export function sendKick(tid: number): void {
  check('tgkill', libc().tgkill(libc().getpid(), tid, vcpuKickSignal()));
}

/**
 * Consumes pending kick signals of the calling thread, or waits up to `timeoutNs` for one.
 * Reused buffers: no allocation per call. Returns true when a kick was consumed.
 */
export class KickReceiver {
  private readonly set = sigsetOf(vcpuKickSignal());
  private readonly timeout = new Uint8Array(16); // struct timespec { tv_sec; tv_nsec } (x86_64)
  private readonly timeoutView = new DataView(this.timeout.buffer);

  /** Take one pending kick (never blocks with timeoutNs 0). */
  take(timeoutNs = 0): boolean {
    this.timeoutView.setUint32(0, Math.floor(timeoutNs / 1e9), true);
    this.timeoutView.setUint32(8, timeoutNs % 1e9, true);
    const r = libc().sigtimedwait(this.set, null, this.timeout);
    if (r >= 0) return true;
    const errno = lastErrno();
    // EAGAIN: nothing pending before the timeout; EINTR: another signal's handler ran first.
    if (errno === EAGAIN || errno === EINTR) return false;
    return check('sigtimedwait', r) >= 0;
  }

  /** Take all pending kicks. A thread-directed real-time signal queues once per send. */
  drain(): number {
    let n = 0;
    while (this.take(0)) n++;
    return n;
  }
}
