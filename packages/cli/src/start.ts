// What `vmm` does once its code is loaded: the thread pool set for the command (thread-pool.ts),
// then the command's modules load.
// bin.ts runs this from the code-cached bundle (dist/vmm.cjs) or, failing that, as a module.
import { endPool, settlePool } from './thread-pool';

export async function start(argv: string[]): Promise<void> {
  settlePool(argv);
  const { main } = await import('./main');
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    process.stderr.write(`vmm: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
  await endPool();
}
