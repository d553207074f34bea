// A pool of worker threads started ahead of need. Starting a Node worker costs tens of
// milliseconds (an isolate, Node's bootstrap, then our modules and koffi loaded again in it), and a
// VM needs one per vCPU at every boot. A pooled worker
// (io/pool-worker.ts) loads everything a vCPU thread needs and waits for its one piece
// of work by message. warmThreads(n) starts workers so that n wait (Vmm.create asks for what its
// VM will take, so they load while the files are read and checked and the VM is built); a VM
// takes them at boot, and the pool starts replacements shortly after, in the background.
//
// A taken worker never comes back: it has installed its seccomp filter and ends with its VM.
// Idle workers that have loaded are unref'd (they never keep the process alive, even one that
// wrote to its stdout or stderr: holdWorkerOutput; one still loading holds it until it has
// loaded) and end with the process; each
// costs memory (~10 MiB resident) and a few file descriptors (its event loop's epoll, eventfd and
// pipe). releaseWarmThreads() ends them now, and the pool stays empty until the next warmThreads().
import type { Transferable, Worker } from 'node:worker_threads';
import { loadedKoffiNative } from './koffi-native';
import type { VcpuWorkerInit } from '../vcpu/protocol';
import { holdWorkerOutput, passWorkerOutput, startWorker } from '../worker-url';
import { debugLine } from '../log/debug';

/**
 * A pooled worker's one piece of work, posted to it once (io/pool-worker.ts); 'exit' ends an
 * idle one.
 */
export type PooledWork = { role: 'vcpu'; init: VcpuWorkerInit } | { role: 'exit' };

/** What the pool handed out and how (counters since the process started). */
export interface WarmThreadStats {
  /** Workers the pool started (warm ones and those started at a take because none waited). */
  started: number;
  /** Workers waiting for work now... */
  idle: number;
  /** ...of which have loaded their modules. */
  idleLoaded: number;
  /** Takes served by a waiting worker that had loaded its modules... */
  takenLoaded: number;
  /** ...by a waiting worker still loading them (started ahead, not yet done)... */
  takenLoading: number;
  /** ...and by a worker started at the take because none waited (the pool was empty). */
  takenCold: number;
  /** Waiting workers that failed or exited before they were taken. */
  failed: number;
}

/**
 * How long after a take the pool starts replacements: after the boot that took them has reached
 * its guest (a worker's start competes with it for the CPU), yet well before a next VM in most
 * programs. A warmThreads() call starts them at once.
 */
const REFILL_DELAY_MS = 50;

const POOL_KEY = Symbol.for('vmm.worker-pool');

interface IdleWorker {
  worker: Worker;
  /** Word 0 becomes 1 once the worker has loaded its modules (set by the worker). */
  loaded: Int32Array;
  detach(): void;
}

/** The pool's state, one per process: the CLI's binary starts the first vCPU's worker with its own
 *  copy of this module (bin.cjs) before it loads the bundle with another (vmm.cjs), which takes
 *  that worker. Both copies come from one build. */
interface PoolState {
  idle: IdleWorker[];
  /** How many workers the pool keeps waiting (the last warmThreads()). */
  target: number;
  /** Whether a take is followed by a refill (warmThreads' `refill`, sticky). */
  refill: boolean;
  refillTimer: NodeJS.Timeout | undefined;
  stats: Omit<WarmThreadStats, 'idle' | 'idleLoaded'>;
}

const pool = ((globalThis as Record<symbol, PoolState | undefined>)[POOL_KEY] ??= {
  idle: [],
  target: 0,
  refill: true,
  refillTimer: undefined,
  stats: { started: 0, takenLoaded: 0, takenLoading: 0, takenCold: 0, failed: 0 },
});
const { idle, stats } = pool;

export interface WarmThreadOptions {
  /**
   * Whether the pool starts replacements after each take (default true), so that a next VM in
   * the process finds its threads loaded; false for a process that runs one VM (`vmm run`), where
   * they would only compete with the running guest for the CPU. Kept until changed.
   */
  refill?: boolean;
}

/**
 * Keep `count` worker threads started and waiting for a vCPU to run (Vmm.create calls it with
 * the VM's vCPUs). Starts the missing ones now; returns at once. 0 stops refilling.
 */
export function warmThreads(count: number, options: WarmThreadOptions = {}): void {
  if (options.refill !== undefined) pool.refill = options.refill;
  pool.target = Math.max(0, Math.floor(count));
  while (idle.length < pool.target) idle.push(spawn());
}

/**
 * End the waiting workers; the pool keeps none until the next warmThreads(). Each is asked to
 * exit rather than terminated: one still loading its modules ends once it has loaded them, as
 * terminating it in the middle would leave the files it was reading open in this process.
 */
export async function releaseWarmThreads(): Promise<void> {
  pool.target = 0;
  clearTimeout(pool.refillTimer);
  pool.refillTimer = undefined;
  const ending = idle.splice(0);
  await Promise.all(
    ending.map(({ worker, detach }) => {
      detach();
      passWorkerOutput(worker); // what it wrote while it waited, if anything
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.on('error', () => {}); // it exits either way
      worker.postMessage({ role: 'exit' } satisfies PooledWork);
      worker.ref(); // awaited: it holds the process until it is gone
      return exited;
    }),
  );
}

/** The pool's counters (tests and diagnostics read them). */
export function warmThreadStats(): WarmThreadStats {
  const idleLoaded = idle.filter((w) => Atomics.load(w.loaded, 0) === 1).length;
  return { ...stats, idle: idle.length, idleLoaded };
}

/**
 * A worker running `work`: a waiting one if any, else one started now. It is unref'd (ref() it
 * if it must keep the process alive); the pool's own listeners are gone, the caller's are its own.
 * A vCPU gets the readiest waiting worker: the guest waits for it.
 */
export function startPooledThread(
  work: Exclude<PooledWork, { role: 'exit' }>,
  transferList: readonly Transferable[] = [],
): Worker {
  const ready = (w: IdleWorker) => Atomics.load(w.loaded, 0) === 1;
  let at = idle.findIndex(ready);
  if (at < 0) at = 0;
  const next = idle.splice(at, 1)[0];
  let worker: Worker;
  if (next) {
    next.detach();
    worker = next.worker;
    if (Atomics.load(next.loaded, 0) === 1) stats.takenLoaded++;
    else stats.takenLoading++;
  } else {
    const cold = spawn();
    cold.detach();
    worker = cold.worker;
    stats.takenCold++;
  }
  worker.postMessage(work, transferList);
  passWorkerOutput(worker);
  scheduleRefill();
  return worker;
}

function scheduleRefill(): void {
  if (!pool.refill || pool.refillTimer || idle.length >= pool.target) return;
  pool.refillTimer = setTimeout(() => {
    pool.refillTimer = undefined;
    while (idle.length < pool.target) idle.push(spawn());
  }, REFILL_DELAY_MS);
  pool.refillTimer.unref();
}

function spawn(): IdleWorker {
  const loaded = new Int32Array(new SharedArrayBuffer(4));
  const worker = startWorker('pool-worker', {
    workerData: { loaded: loaded.buffer, koffiNative: loadedKoffiNative() },
    // Passed on when it is taken (passWorkerOutput), not opened now.
    stdout: true,
    stderr: true,
  });
  holdWorkerOutput(worker);
  stats.started++;
  debugLine('worker pool', `thread ${stats.started} started`);
  // Ref'd until it has loaded: at the process's exit Node terminates unref'd workers, and one
  // terminated inside koffi's native registration aborts the whole process (napi_throw in an
  // ending environment: "FATAL ERROR", seen once in CI). So an exit waits out a load.
  const poll = setInterval(() => {
    if (Atomics.load(loaded, 0) !== 1) return;
    clearInterval(poll);
    worker.unref();
  }, 10);
  poll.unref();
  // One that fails while it waits (it could not load a module) leaves the pool; the take that
  // would have had it starts a new one, whose failure then reaches the VM.
  const gone = () => {
    const i = idle.findIndex((w) => w.worker === worker);
    if (i >= 0) {
      idle.splice(i, 1);
      stats.failed++;
    }
  };
  worker.on('error', gone);
  worker.on('exit', gone);
  worker.once('exit', () => clearInterval(poll));
  return {
    worker,
    loaded,
    detach: () => {
      clearInterval(poll);
      worker.unref(); // the taker's to ref
      worker.off('error', gone);
      worker.off('exit', gone);
    },
  };
}
