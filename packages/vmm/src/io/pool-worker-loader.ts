// Entry of a pooled worker thread when the package is built: the pooled worker's code
// (pool-worker.ts) as one CommonJS bundle (dist/io/pool-worker.cjs) run with its V8 code cache
// (code-cache.ts), written as soon as it has loaded, before the thread takes a role and installs
// its seccomp filter. A vCPU's first instruction waits for this load; without a cache, most of it
// is compiling. If the bundle cannot be run, the ES module (dist/io/pool-worker.js) instead.
import { createRequire } from 'node:module';
import path from 'node:path';
import { workerData } from 'node:worker_threads';
import { loadCodeCached } from '../code-cache';
import { LENT_IMPORT } from '../dynamic-import';
import { requireWithKoffi } from './koffi-native';

// The bundle's own import() fails when it runs from the cache (dynamic-import.ts): it borrows ours.
(globalThis as Record<symbol, unknown>)[LENT_IMPORT] = (specifier: string) => import(specifier);
// Built as CommonJS: __dirname is this file's folder (dist/io).
const bundle = path.join(__dirname, 'pool-worker.cjs');
// koffi from the native module the pool's process already loaded (koffi-native.ts).
const { koffiNative } = workerData as { koffiNative?: string };
const bundleRequire = requireWithKoffi(createRequire(bundle), koffiNative);
if (!loadCodeCached(bundle, { name: 'pool-worker', write: 'loaded', require: bundleRequire })) {
  void import('./pool-worker.js');
}
