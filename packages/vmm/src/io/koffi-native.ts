// koffi taken straight from its native module: in a pooled worker, the one the main thread's
// koffi chose; in the CLI's main thread (and the threads it starts), the one koffi's loader chose
// in the CLI's last run (@vmm/cli's code-cache.ts keeps it beside its code cache). A thread then skips koffi's loader: resolving its
// packages through node_modules and detecting the C library from the node binary's ELF headers,
// ~5 of the ~11 ms a thread spends loading koffi on a host, and many file look-ups where files are
// slow (the nested-KVM VM's 9p root). What that loader adds to the native exports is deprecated
// aliases (koffi.resolve, lib.cdecl, ...), which we do not use. Anything unexpected falls back to
// koffi's own loader.
import { createRequire } from 'node:module';
import { debugLine } from '../log/debug';

/** koffi's major version in our dependency range, set by the builds (tools/build/koffi-major.ts). */
declare const __KOFFI_MAJOR__: string | undefined;

/** Where a process that loads koffi's native module itself (the CLI) says which file it takes. */
const ANNOUNCED = Symbol.for('vmm.koffi-native');

/**
 * The koffi.node a pooled worker is handed: the one this process announced (the CLI, which knows
 * it from its last run before it loads it), else the one koffi's loader chose here, if any.
 */
export function loadedKoffiNative(): string | undefined {
  const announced = (globalThis as Record<symbol, unknown>)[ANNOUNCED];
  return typeof announced === 'string' ? announced : koffiNativeOfLoader();
}

/** Say that this process takes koffi's native module from `file` (undefined: no longer). */
export function announceKoffiNative(file: string | undefined): void {
  (globalThis as Record<symbol, unknown>)[ANNOUNCED] = file;
}

/**
 * The koffi.node that koffi's loader loaded in this process, or undefined: also when it has
 * loaded two (another koffi than ours, of the program's own).
 */
export function koffiNativeOfLoader(): string | undefined {
  // Module._cache, keyed by resolved file name: .node files loaded by require are in it too.
  const files = Object.keys(createRequire(`${process.cwd()}/`).cache).filter((f) =>
    f.endsWith('/koffi.node'),
  );
  return files.length === 1 ? files[0] : undefined;
}

/**
 * `base`, except that its 'koffi' is the native module at `file` (loaded on first require), or
 * koffi's own loader when `file` is undefined or does not load as koffi.
 */
export function requireWithKoffi(base: NodeJS.Require, file: string | undefined): NodeJS.Require {
  if (!file) return base;
  let koffi: unknown;
  const req = (id: string): unknown => {
    if (id !== 'koffi') return base(id);
    if (koffi === undefined) {
      koffi = nativeKoffi(file);
      // Not koffi after all: threads started from now on are not handed it either.
      if (koffi === undefined && loadedKoffiNative() === file) announceKoffiNative(undefined);
      koffi ??= base('koffi');
    }
    return koffi;
  };
  return Object.assign(req, {
    resolve: base.resolve,
    cache: base.cache,
    main: base.main,
    extensions: base.extensions,
  }) as NodeJS.Require;
}

function nativeKoffi(file: string): unknown {
  try {
    const major = typeof __KOFFI_MAJOR__ === 'string' ? __KOFFI_MAJOR__ : undefined;
    if (!major) return undefined; // run from the sources, not built: no version to check against
    const mod = { exports: {} as { load?: unknown; type?: unknown; version?: unknown } };
    process.dlopen(mod, file);
    const { load, type, version } = mod.exports;
    if (typeof load !== 'function' || typeof type !== 'function' || typeof version !== 'string') {
      debug(`${file} is not koffi's native module: koffi's loader instead`);
      return undefined;
    }
    if (version.split('.')[0] !== major) {
      debug(`${file} is koffi ${version}, not ${major}.x: koffi's loader instead`);
      return undefined;
    }
    debug(`native module from ${file}`);
    return mod.exports;
  } catch (e) {
    debug(`${file} did not load (${(e as Error).message}): koffi's loader instead`);
    return undefined;
  }
}

function debug(line: string): void {
  debugLine('koffi', line);
}
