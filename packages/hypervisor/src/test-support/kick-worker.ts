// Tests only: a thread that behaves like a vCPU thread around KVM_RUN. It blocks the kick signal,
// publishes its tid, then sleeps in sigtimedwait, which (like KVM_RUN with KVM_SET_SIGNAL_MASK)
// unblocks the signal only for the length of the system call. Reports how it woke up.
import { parentPort, workerData } from 'node:worker_threads';
import { libc } from '../sys/libc';
import { blockKickSignal, KickReceiver } from '../sys/signals';

const { shared, waitMs, waitFirst } = workerData as {
  shared: SharedArrayBuffer;
  waitMs: number;
  waitFirst: boolean;
};
const words = new Int32Array(shared);
blockKickSignal();
const rx = new KickReceiver();
Atomics.store(words, 0, libc().gettid());
Atomics.notify(words, 0);
if (waitFirst) {
  // Wait until the main thread says it has kicked, so the kick arrives while we are not waiting.
  Atomics.wait(words, 1, 0);
}
const t0 = performance.now();
const woke = rx.take(waitMs * 1e6);
const elapsedMs = performance.now() - t0;
parentPort!.postMessage({ woke, elapsedMs, leftover: rx.drain() });
