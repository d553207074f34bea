// What `vmm` does once its code is loaded: for `vmm run`, the worker thread the first vCPU runs in
// has started already (first-thread.ts: the binary starts it before it reads the bundle; started
// here when the modules run instead), then the command's modules load.
// bin.ts runs this from the code-cached bundle (dist/vmm.cjs) or, failing that, as a module.
import { endFirstThread, startFirstThread } from './first-thread';

export async function start(argv: string[]): Promise<void> {
  startFirstThread(argv); // a no-op when the binary started it
  const { main } = await import('./main');
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    process.stderr.write(`vmm: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
  await endFirstThread();
}
