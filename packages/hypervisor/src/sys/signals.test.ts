// The vCPU kick without KVM: a worker thread blocked in a system call that unblocks the kick signal
// only while it runs (sigtimedwait here; KVM_RUN with KVM_SET_SIGNAL_MASK on a KVM host: both use
// the kernel's real_blocked mask) is woken by sendKick() from the main thread, the process survives,
// and Node's own signal handling is untouched.
import { describe, expect, it } from 'vitest';
import { nextMessage, startTsWorker } from '../test-support/ts-worker';
import { libc } from './libc';
import { KERNEL_SIGSET_BYTES, runSignalMask, sendKick, sigsetOf, vcpuKickSignal } from './signals';

type Report = { woke: boolean; elapsedMs: number; leftover: number };

async function kickWorker(waitFirst: boolean): Promise<Report> {
  const shared = new SharedArrayBuffer(8);
  const words = new Int32Array(shared);
  const worker = startTsWorker(new URL('../test-support/kick-worker.ts', import.meta.url), {
    workerData: { shared, waitMs: 20_000, waitFirst },
  });
  try {
    const report = nextMessage<Report>(worker);
    while (Atomics.load(words, 0) === 0) await new Promise((r) => setTimeout(r, 5));
    const tid = Atomics.load(words, 0);
    expect(tid).not.toBe(libc().gettid());
    if (!waitFirst) await new Promise((r) => setTimeout(r, 200)); // let it block in the system call
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

  it('wakes a worker thread blocked in a system call, long before its timeout', async () => {
    const r = await kickWorker(false);
    expect(r.woke).toBe(true);
    expect(r.elapsedMs).toBeLessThan(5_000);
    expect(r.leftover).toBe(0);
  });

  it('a kick sent while the thread is not waiting stays pending and ends the next wait at once', async () => {
    const r = await kickWorker(true);
    expect(r.woke).toBe(true);
    expect(r.elapsedMs).toBeLessThan(1_000);
  });

  it('a stray kick to a thread that does not block it is dropped: the process lives on', async () => {
    let usr2 = 0;
    const onUsr2 = () => usr2++;
    process.on('SIGUSR2', onUsr2);
    try {
      sendKick(libc().gettid()); // this thread does not block the kick signal
      await new Promise((r) => setTimeout(r, 50));
      process.kill(process.pid, 'SIGUSR2'); // Node's own signal handling still works
      await new Promise((r) => setTimeout(r, 50));
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
});
