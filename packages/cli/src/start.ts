// What `vmm` does once its code is loaded: for `vmm run`, the worker thread the first vCPU runs in
// starts before anything else loads (@vmm/vmm/warm is the worker pool alone, a few KiB), so it
// loads its modules while this thread loads the CLI and the library; Vmm.create starts the rest
// (more vCPUs). One thread, not more: each competes with this thread's loading for the CPU
// (measured: docs/benchmarks.md). The process runs one VM: the pool does not refill after the
// boot takes its threads.
// bin.ts runs this from the code-cached bundle (dist/vmm.cjs) or, failing that, as a module.
import { warmThreads } from '@vmm/vmm/warm';

export async function start(argv: string[]): Promise<void> {
  if (argv[0] === 'run' && !argv.includes('--help') && !argv.includes('-h'))
    warmThreads(1, { refill: false });
  const { main } = await import('./main');
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    process.stderr.write(`vmm: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
