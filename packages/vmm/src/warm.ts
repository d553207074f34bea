// @vmm/vmm/warm: the worker-thread pool (io/worker-pool.ts) alone, for a program that wants its
// threads loading before it loads the rest of the library (`vmm run` does this first thing).
export {
  releaseWarmThreads,
  warmThreadStats,
  warmThreads,
  type WarmThreadOptions,
  type WarmThreadStats,
} from './io/worker-pool';
