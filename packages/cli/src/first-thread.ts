// `vmm run`'s first vCPU thread starts before anything else loads (@vmm/vmm/warm is the worker
// pool alone, a few KiB): a Node worker takes long to start (its isolate, Node's bootstrap, then
// koffi and our modules loaded in it), and it does that while this thread loads the CLI and the
// library. The binary (bin.cjs) starts it before it reads the bundle; the bundle's copy of the
// pool finds it there (the pool's state is the process's, io/worker-pool.ts). Vmm.create starts
// the rest (more vCPUs). One thread, not more: each competes with this thread's loading for the
// CPU (measured: docs/benchmarks.md). The process runs one VM: the pool does not refill after the
// boot takes its threads.
import { releaseWarmThreads, warmThreads } from '@vmm/vmm/warm';

/** Start the first vCPU's thread if `argv` boots a VM. */
export function startFirstThread(argv: readonly string[]): void {
  if (argv[0] === 'run' && !argv.includes('--help') && !argv.includes('-h'))
    warmThreads(1, { refill: false });
}

/**
 * Once the command is done: end the first thread if no VM took it (the command failed first),
 * rather than leave it to the process's exit. (A `vmm run` with a bad flag never exited once that
 * thread had written to its stderr, until the pool held such output: worker-url.ts.)
 */
export function endFirstThread(): Promise<void> {
  return releaseWarmThreads();
}
