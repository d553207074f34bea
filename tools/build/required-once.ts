// For the CommonJS bundles: each external module that our sources take as a default import
// (`import fs from 'node:fs'`) is required once, in one module of its own, and used as it is.
//
// esbuild turns every such import of a module bundled into CommonJS into its own
// `__toESM(require("fs"), 1)`: a fresh object with a getter for each of the module's exports (fs
// has ~100), made again in every importing module: ~0.1-0.25 ms a module here, ~50 of them on the
// way to `vmm run`'s guest (docs/benchmarks.md). Routed through a module whose default export is
// `require(name)`, an import is a plain variable. A named import of one of these fails the build
// ("No matching export"): take the default one, as the rest of the code does.
import type { Plugin } from 'esbuild';

/** What our sources import by default only (the house style); koffi where it is external. */
const requiredOnceModules = /^(node:)?(fs|path|os|net|http|dgram|zlib|vm)$|^koffi$/;
const NAMESPACE = 'required-once';

export const requiredOnce: Plugin = {
  name: 'required-once',
  setup(build) {
    build.onResolve({ filter: requiredOnceModules }, (args) => {
      // The module's own require(), and anything not an import statement, stays as it is.
      if (args.namespace === NAMESPACE || args.kind !== 'import-statement')
        return { path: args.path, external: true };
      return { path: args.path.replace(/^node:/, ''), namespace: NAMESPACE };
    });
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
      contents: `export default require(${JSON.stringify(args.path === 'koffi' ? 'koffi' : `node:${args.path}`)});`,
      loader: 'js',
    }));
  },
};

/**
 * What a tsup build that uses the plugin sets beside it (with its own noExternal): tsup's plugins
 * run before ours, and would take these imports first (its node: plugin makes them external, and
 * so does its externals plugin unless they are in noExternal).
 */
export function requiredOnceOptions(noExternal: (string | RegExp)[]) {
  return { noExternal: [...noExternal, requiredOnceModules], removeNodeProtocol: false } as const;
}
