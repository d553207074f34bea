// The vCPU kick without KVM: a worker thread blocked in a system call that unblocks the kick signal
// only while it runs (sigtimedwait here; KVM_RUN with KVM_SET_SIGNAL_MASK on a KVM host: both use
// the kernel's real_blocked mask) is woken by sendKick() from the main thread, the process survives,
// and Node's own signal handling is untouched. Nothing here is timed: the worker's wait has a
// 20 s timeout, so `woke` (a kick taken) tells a kick from the timeout, and where the kick must
// find the thread blocked, the test first sees it blocked in the call (/proc/self/task/TID/syscall).
import { describe, expect, it, vi } from 'vitest';
import { sleepingIn, sleepingInUnavailable } from '../test-support/thread-syscall';
import { nextMessage, startTsWorker } from '../test-support/ts-worker';
import { libc } from './libc';
import {
  KERNEL_SIGSET_BYTES,
  runSignalMask,
  sendKick,
  sigsetOf,
  vcpuKickSignal,
  withSignalsBlocked,
} from './signals';

if (sleepingInUnavailable)
  console.warn(`SKIP (${sleepingInUnavailable}): the kick of a thread seen blocked in sigtimedwait`);

type Report = { woke: boolean; leftover: number };

/** waitFirst: kick before the worker waits, and it then only looks (a wait of 0); else kick it blocked. */
async function kickWorker(waitFirst: boolean): Promise<Report> {
  const shared = new SharedArrayBuffer(8);
  const words = new Int32Array(shared);
  const worker = startTsWorker(new URL('../test-support/kick-worker.ts', import.meta.url), {
    workerData: { shared, waitMs: waitFirst ? 0 : 20_000, waitFirst },
  });
  try {
    const report = nextMessage<Report>(worker);
    await vi.waitFor(() => expect(Atomics.load(words, 0)).not.toBe(0), { timeout: 30_000, interval: 5 });
    const tid = Atomics.load(words, 0);
    expect(tid).not.toBe(libc().gettid());
    if (!waitFirst) {
      await vi.waitFor(() => expect(sleepingIn(tid)?.call).toBe('sigtimedwait'), {
        timeout: 30_000,
        interval: 5,
      });
    }
    sendKick(tid);
    Atomics.store(words, 1, 1);
    Atomics.notify(words, 1);
    return await report;
  } finally {
    await worker.terminate();
  }
}

describe('vCPU kick signal', () => {
  it('is a real-time signal above the ones glibc keeps', () => {
    expect(vcpuKickSignal()).toBeGreaterThanOrEqual(34);
    expect(vcpuKickSignal()).toBeLessThanOrEqual(64);
    expect([...sigsetOf(1).slice(0, 1)]).toEqual([1]);
  });

  it.skipIf(sleepingInUnavailable)(
    'wakes a worker thread blocked in a system call, before its timeout',
    async () => {
      const r = await kickWorker(false);
      expect(r.woke).toBe(true); // the 20 s timeout would have said false
      expect(r.leftover).toBe(0);
    },
  );

  it('a kick sent while the thread is not waiting stays pending: a wait of 0 then takes it', async () => {
    const r = await kickWorker(true);
    expect(r.woke).toBe(true);
    expect(r.leftover).toBe(0);
  });

  it('a stray kick to a thread that does not block it is dropped: the process lives on', async () => {
    let usr2 = 0;
    const onUsr2 = () => usr2++;
    process.on('SIGUSR2', onUsr2);
    try {
      sendKick(libc().gettid()); // this thread does not block the kick signal
      const delivered = new Promise((r) => process.once('SIGUSR2', r));
      process.kill(process.pid, 'SIGUSR2'); // Node's own signal handling still works
      await delivered;
      expect(usr2).toBe(1);
    } finally {
      process.off('SIGUSR2', onUsr2);
    }
  });

  it('the KVM_RUN mask is this thread’s mask without the kick signal (kernel sigset size)', () => {
    const mask = runSignalMask();
    expect(mask.length).toBe(KERNEL_SIGSET_BYTES);
    const bit = vcpuKickSignal() - 1;
    expect(mask[bit >> 3]! & (1 << (bit & 7))).toBe(0);
  });

  it('withSignalsBlocked runs its call with every signal blocked, then puts the mask back; a signal sent meanwhile comes after', async () => {
    const SIGPROF = 27;
    const SIGUSR2 = 12;
    const blocked = (sig: number) => {
      const cur = new Uint8Array(128);
      libc().pthreadSigmask(0, null, cur); // SIG_BLOCK with no set: read the mask
      return (cur[(sig - 1) >> 3]! & (1 << ((sig - 1) & 7))) !== 0;
    };
    let usr2 = 0;
    const onUsr2 = () => usr2++;
    process.on('SIGUSR2', onUsr2);
    try {
      const before = [blocked(SIGPROF), blocked(SIGUSR2)];
      const inside = withSignalsBlocked(() => {
        process.kill(process.pid, 'SIGUSR2');
        return [blocked(SIGPROF), blocked(SIGUSR2)];
      });
      expect(inside).toEqual([true, true]);
      expect([blocked(SIGPROF), blocked(SIGUSR2)]).toEqual(before);
      expect(() =>
        withSignalsBlocked(() => {
          throw new Error('x');
        }),
      ).toThrow('x');
      expect([blocked(SIGPROF), blocked(SIGUSR2)]).toEqual(before); // put back after a throw too
      for (let i = 0; i < 100 && usr2 === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(usr2).toBe(1); // not lost
    } finally {
      process.off('SIGUSR2', onUsr2);
    }
  });
});
