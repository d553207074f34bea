// Entry of a pooled worker thread (io/worker-pool.ts): load every module a vCPU thread needs
// (koffi, @vmm/hypervisor, the exit loop and the port I/O devices), say so in the shared word,
// then wait for the one piece of work this thread will ever do, posted as { role, init }
// ({ role: 'exit' } when the pool lets it go). Its seccomp filter comes with the work, installed
// once the vCPU has opened what it needs.
import { parentPort, workerData } from 'node:worker_threads';
import { runVcpuThread } from '../vcpu-worker';
import type { PooledWork } from './worker-pool';

const loaded = new Int32Array((workerData as { loaded: SharedArrayBuffer }).loaded);
Atomics.store(loaded, 0, 1);
Atomics.notify(loaded, 0);

parentPort!.once('message', (work: PooledWork) => {
  if (work.role === 'vcpu') runVcpuThread(work.init);
  else process.exit(0);
});
