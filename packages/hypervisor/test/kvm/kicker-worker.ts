// Tests only: kicks a vCPU run by another thread (a test's main thread: kicker.ts) out of KVM_RUN
// when told to, or when a run it was armed for outlasts its time. Words of `words`: [0] the arm
// generation (-1: exit), [1] the time in ms, [2] the generation the runner finished in time,
// [3] the tid to kick, [4] how many kicks it sent. Started once per test file: a worker takes ~0.5 s to start here.
import { parentPort, workerData } from 'node:worker_threads';
import { sendKick } from '../../src/sys/signals';

const w = new Int32Array((workerData as { words: SharedArrayBuffer }).words);
parentPort!.postMessage('ready');
for (let seen = 0; ;) {
  Atomics.wait(w, 0, seen);
  const gen = Atomics.load(w, 0);
  if (gen < 0) break;
  seen = gen;
  Atomics.wait(w, 2, gen - 1, Atomics.load(w, 1));
  if (Atomics.load(w, 2) !== gen) {
    sendKick(Atomics.load(w, 3));
    Atomics.add(w, 4, 1);
  }
}
