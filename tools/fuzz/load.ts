// Loads a fuzz target for the engine: builds it (instrument.ts), runs the bundle in this process as
// a CommonJS module while its files register their counters, and checks that it exports what a
// fuzz target must: `fuzz(data)`, and optionally `seeds()`, `maxLength` and `close()`.
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { Counters } from './counters';
import { dictionaryFrom } from './dictionary';
import { REGISTRY_GLOBAL, buildTarget, type TargetBuild } from './instrument';
import { ROOT, underTest, type TargetInfo } from './targets';

/** What a *.fuzz-target.ts module exports. */
export interface FuzzTargetModule {
  /** Runs one input; throws only when the code under test broke its contract. */
  fuzz(data: Uint8Array): void;
  /** Valid inputs made by the project's own builders (real frames, rings, images). */
  seeds?(): Uint8Array[];
  /** Longest input worth trying (default 4096). */
  maxLength?: number;
  /** Lets go of what the target holds (sockets, files, timers). */
  close?(): void | Promise<void>;
}

export interface LoadedTarget {
  module: FuzzTargetModule;
  counters: Counters;
  dictionary: Uint8Array[];
  build: TargetBuild;
}

export async function loadTarget(info: TargetInfo): Promise<LoadedTarget> {
  const build = await buildTarget({
    root: ROOT,
    entry: info.file,
    instrument: (file) => underTest(info, file),
    cacheDir: path.join(ROOT, '.cache', 'fuzz', 'build'),
  });
  const counters = new Counters();
  const g = globalThis as Record<string, unknown>;
  g[REGISTRY_GLOBAL] = counters.register;
  const module = { exports: {} as Record<string, unknown> };
  try {
    const wrapper = vm.runInThisContext(
      `(function (exports, require, module, __filename, __dirname) {${build.code}\n})`,
      { filename: `fuzz-bundle:${info.id}` },
    ) as (...args: unknown[]) => void;
    wrapper(module.exports, createRequire(info.file), module, info.file, path.dirname(info.file));
  } finally {
    delete g[REGISTRY_GLOBAL];
  }
  counters.seal();
  const m = module.exports as unknown as FuzzTargetModule;
  if (typeof m.fuzz !== 'function') throw new Error(`${info.file} does not export fuzz(data: Uint8Array)`);
  if (m.seeds !== undefined && typeof m.seeds !== 'function')
    throw new Error(`${info.file}: seeds is not a function`);
  if (counters.size === 0) throw new Error(`${info.file}: no file under test was instrumented`);
  return { module: m, counters, dictionary: dictionaryFrom(build.sources), build };
}
