// koffi for a pooled worker, taken straight from the native module the main thread's koffi chose.
// A thread then skips koffi's loader: resolving its packages through node_modules and detecting
// the C library from the node binary's ELF headers, ~5 of the ~11 ms a thread spends loading koffi
// on a host, and many file look-ups where files are slow (the nested-KVM VM's 9p root). What that
// loader adds to the native exports is deprecated aliases (koffi.resolve, lib.cdecl, ...), which
// we do not use. Anything unexpected falls back to koffi's own loader.
import { createRequire } from 'node:module';

/** koffi's major version in our dependency range, set by the pooled worker's build (tsup.config.ts). */
declare const __KOFFI_MAJOR__: string | undefined;

/**
 * The koffi.node this process has loaded (through koffi's loader), or undefined: also when it has
 * loaded two (another koffi than ours, of the program's own).
 */
export function loadedKoffiNative(): string | undefined {
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
    koffi ??= nativeKoffi(file) ?? base('koffi');
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
    if (!major) return undefined; // not the built worker: no version to check against
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
  if (process.env.VMM_DEBUG) process.stderr.write(`vmm: koffi: ${line}\n`);
}
