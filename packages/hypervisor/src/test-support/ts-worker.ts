// Tests only: start a worker thread on a TypeScript module through tsx's loader, registered inside
// the worker (execArgv --import does not reach workers on Node 20).
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startTsWorker(url: URL, options: WorkerOptions): Worker {
  const src = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(src, { ...options, eval: true });
}

/** The next message from `worker` (rejects on error or exit). */
export function nextMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (m: T) => (done(), resolve(m));
    const onError = (e: Error) => (done(), reject(e));
    const onExit = (code: number) => (done(), reject(new Error(`worker exited (${code})`)));
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
