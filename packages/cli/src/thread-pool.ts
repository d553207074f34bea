// The worker-thread pool (io/worker-pool.ts) as the CLI uses it. `vmm run` runs one VM: the pool
// starts no replacements after its boot takes its threads (they would only compete with the guest
// for the CPU). Its first vCPU's thread is not started here: the main thread runs the guest first
// and starts that thread at the first tick (VmmOptions.earlyRun), so that neither loading
// node:worker_threads nor constructing the Worker (~4 ms together) comes before the guest's first
// instruction (docs/benchmarks.md). Vmm.create starts the threads of any other vCPUs.
import { releaseWarmThreads, warmThreads } from '@vmm/vmm/warm';

/** Set the pool up for the command in `argv`. */
export function settlePool(argv: readonly string[]): void {
  if (argv[0] === 'run') warmThreads(0, { refill: false });
}

/**
 * Once the command is done: end any thread that waits in the pool unused (the command failed
 * before its VM took it), rather than leave it to the process's exit. (A `vmm run` with a bad flag
 * never exited once such a thread had written to its stderr, until the pool held such output:
 * worker-url.ts.)
 */
export function endPool(): Promise<void> {
  return releaseWarmThreads();
}
