// Starting a worker thread on one of our modules: the built JavaScript next to this module
// (dist/io/pool-worker-loader.cjs, dist/io/device-thread.js), or, when running from the
// TypeScript sources (tests), the .ts file loaded through tsx's loader, registered inside the
// worker, not taken from the process's flags: those preloads are kept out of our threads
// (io/thread-node-options.ts).
import { createRequire } from 'node:module';
import type * as WorkerThreads from 'node:worker_threads';
import type { Worker, WorkerOptions } from 'node:worker_threads';
import { threadNodeOptions, withoutRefused } from './io/thread-node-options';

let loaded: typeof WorkerThreads | undefined;

/**
 * node:worker_threads, loaded when a thread is first started or a device's channel made (~2 ms):
 * `vmm run` starts its vCPU's thread only once the guest runs (vcpu/thread.ts), and that load is
 * not to come before it. Not @vmm/hypervisor's loadBuiltin: @vmm/vmm/warm, which imports this,
 * loads nothing of that package (koffi with it).
 */
export function workerThreads(): typeof WorkerThreads {
  loaded ??= createRequire(process.execPath)('node:worker_threads') as typeof WorkerThreads;
  return loaded;
}

/**
 * How long a thread that must end while it is still loading is given to load and end by itself.
 * Terminated in the middle of koffi's native registration, a worker aborts the whole process
 * ("FATAL ERROR: Error::ThrowAsJavaScriptException napi_throw"); only a load that never ends (its
 * files on a stalled file system) is terminated, after this.
 */
export const LOADING_EXIT_MS = 60_000;

export function startWorker(name: 'pool-worker' | 'device-thread', given: WorkerOptions): Worker {
  // Without the process's preloads: these threads install a seccomp filter (io/thread-node-options.ts).
  const options = { ...threadNodeOptions(), ...given };
  if (fromSource()) return startModuleWorker(new URL(`./io/${name}.ts`, import.meta.url), options);
  // Built, a pooled worker starts from its code-cached bundle (io/pool-worker-loader.ts).
  const file = name === 'pool-worker' ? 'pool-worker-loader.cjs' : `${name}.js`;
  return newWorker(new URL(`./io/${file}`, import.meta.url), options);
}

/** Start a worker on any module URL (a .ts one through tsx). */
export function startModuleWorker(url: URL, options: WorkerOptions): Worker {
  if (!url.pathname.endsWith('.ts')) return newWorker(url, options);
  const src = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return newWorker(src, { ...options, eval: true });
}

/** A Worker; given an execArgv Node refuses options of, again without them (io/thread-node-options.ts). */
function newWorker(what: URL | string, options: WorkerOptions): Worker {
  const { Worker } = workerThreads();
  try {
    return new Worker(what, options);
  } catch (e) {
    const execArgv = options.execArgv && withoutRefused(options.execArgv, e);
    if (!execArgv) throw e;
    return new Worker(what, { ...options, execArgv });
  }
}

/**
 * For a worker started with `stdout: true, stderr: true` that no one reads yet (an idle pooled
 * one): keep its streams from reading. Node holds a worker referenced, unref() or not, for as
 * long as one of its streams here is being read, which begins with the first chunk the worker
 * writes (ReadableWorkerStdio's _read), listened to or not: an idle worker that wrote anything (a
 * Node warning, NODE_DEBUG) held the process open for good. What it writes waits, until
 * passWorkerOutput passes it on.
 */
export function holdWorkerOutput(worker: Worker): void {
  for (const stream of [worker.stdout, worker.stderr]) stream._read = () => {};
}

/**
 * For a worker started with `stdout: true, stderr: true` (a pooled one: left to Node, a new Worker
 * opens this process's stdout and stderr as streams at once, which for a pipe loads node:net, ~2 ms
 * on the way to `vmm run`'s guest): pass what it writes there on to this process's, from the next
 * turn of the event loop (after a start under way). Only for a worker at work: a stream read here
 * holds the process open while its worker lives, which an idle pooled worker must not. What an
 * idle one writes waits in its stream (our threads' own diagnostics go to fd 2 directly).
 */
export function passWorkerOutput(worker: Worker): void {
  for (const stream of [worker.stdout, worker.stderr]) delete (stream as { _read?: unknown })._read;
  setImmediate(() => {
    worker.stdout.on('data', (chunk: Buffer) => process.stdout.write(chunk));
    worker.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  });
}

function fromSource(): boolean {
  return import.meta.url.endsWith('.ts');
}
