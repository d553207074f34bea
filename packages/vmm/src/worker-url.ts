// Starting a worker thread on one of our modules: the built JavaScript next to this module
// (dist/io/pool-worker-loader.cjs, dist/io/device-thread.js), or, when running from the
// TypeScript sources (tests), the .ts file loaded through tsx's loader, registered inside the
// worker, not taken from the process's flags: those preloads are kept out of our threads
// (io/thread-node-options.ts).
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { threadNodeOptions, withoutRefused } from './io/thread-node-options';

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
  try {
    return new Worker(what, options);
  } catch (e) {
    const execArgv = options.execArgv && withoutRefused(options.execArgv, e);
    if (!execArgv) throw e;
    return new Worker(what, { ...options, execArgv });
  }
}

function fromSource(): boolean {
  return import.meta.url.endsWith('.ts');
}
