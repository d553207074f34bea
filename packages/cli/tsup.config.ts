import fs from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';
import { koffiMajor } from '../../tools/build/koffi-major';
import { requiredOnce, requiredOnceOptions } from '../../tools/build/required-once';
import { BUNDLE_WRAPPER } from '../vmm/src/code-cache';

const packagesDir = path.resolve(import.meta.dirname, '..');

/**
 * In the CommonJS bundle, `import.meta.url` of each inlined module becomes the URL of the file it
 * was built into, so that what a module finds next to itself (the worker entries in @vmm/vmm's
 * dist/io, the guest agent's binary, package.json for the version) is found where the package is
 * installed: `__vmmFileUrl(package, path in it)`, resolved when the bundle runs (its banner).
 */
const importMetaUrlToPackageFile: Plugin = {
  name: 'import-meta-url-to-package-file',
  setup(build) {
    build.onLoad({ filter: /\.(js|ts)$/ }, (args) => {
      const rel = path.relative(packagesDir, args.path);
      const m = /^(\w+)\/(dist|src)\/(.*)$/.exec(rel.split(path.sep).join('/'));
      if (!m) return undefined;
      const contents = fs.readFileSync(args.path, 'utf8');
      if (!contents.includes('import.meta.url')) return undefined;
      const [, pkg, dir, file] = m as unknown as [string, string, string, string];
      // A package's sources (tsconfig's paths lead esbuild there) are built into files at the
      // root of its dist, which is what their relative URLs expect (./io/pool-worker.js,
      // ./agent/vmm-agent); a dist file is where it is.
      const target = dir === 'dist' ? `dist/${file}` : pkg === 'cli' ? 'dist/vmm.cjs' : 'dist/index.js';
      return {
        contents: contents.replaceAll(
          'import.meta.url',
          `__vmmFileUrl(${JSON.stringify(`@vmm/${pkg}`)}, ${JSON.stringify(target)})`,
        ),
        loader: args.path.endsWith('.ts') ? 'ts' : 'js',
      };
    });
  },
};

/**
 * Where a package's file is, as the running bundle finds the package (code-cache.ts's require):
 * the first of Node's node_modules folders for the bundle that holds the package, as Node's own
 * look-up takes it, without require.resolve's realpath of every path component (2.1 ms of the
 * ~7 ms before `vmm run` starts its first vCPU thread, on a software-emulated KVM host).
 * require.resolve where none does.
 */
const fileUrlHelper = `const __vmmFileUrls = new Map();
function __vmmFileUrl(pkg, file) {
  const key = pkg + "\\0" + file;
  let url = __vmmFileUrls.get(key);
  if (url === undefined) {
    const path = require("node:path");
    const base = pkg === "@vmm/cli" ? path.join(__dirname, "..") : __vmmPackageDir(pkg);
    url = require("node:url").pathToFileURL(path.join(base, file)).href;
    __vmmFileUrls.set(key, url);
  }
  return url;
}
function __vmmPackageDir(pkg) {
  const path = require("node:path");
  const fs = require("node:fs");
  for (const dir of require.resolve.paths(pkg) ?? []) {
    const candidate = path.join(dir, pkg);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
  }
  return path.dirname(require.resolve(pkg + "/package.json"));
}`;

/** A CommonJS file with every @vmm/* package inlined, alone (no chunks, no map, no types). */
const oneCommonJsFile = {
  format: ['cjs'],
  outExtension: () => ({ js: '.cjs' }),
  ...requiredOnceOptions([/^@vmm\//]),
  platform: 'node',
  splitting: false,
  sourcemap: false,
  dts: false,
  clean: false,
} as const;

export default defineConfig([
  {
    // start: what bin.cjs runs when the bundle cannot be (the modules).
    entry: { index: 'src/index.ts', start: 'src/start.ts' },
    format: ['esm'],
    dts: { entry: { index: 'src/index.ts' } },
    sourcemap: true,
    clean: ['!vmm.cjs', '!bin.cjs'],
    target: 'node20',
  },
  {
    // The `vmm` binary as one CommonJS file, the code cache's loader (@vmm/vmm's code-cache and
    // koffi-native, from their sources) and the worker pool (@vmm/vmm/warm: it starts the first
    // vCPU's thread) inlined: nothing to resolve and no ES module loader before the bundle runs.
    entry: { bin: 'src/bin.ts' },
    ...oneCommonJsFile,
    external: ['./start.js'],
    define: { __KOFFI_MAJOR__: JSON.stringify(koffiMajor()) },
    banner: { js: fileUrlHelper },
    esbuildPlugins: [importMetaUrlToPackageFile, requiredOnce],
    target: 'node20',
  },
  {
    // The CLI as one CommonJS file for bin.ts's code cache (code-cache.ts): every @vmm/* package
    // inlined; koffi (a native module) external, resolved through @vmm/hypervisor.
    entry: { vmm: 'src/start.ts' },
    ...oneCommonJsFile,
    external: ['koffi'],
    // In Node's function wrapper already: code-cache.ts compiles it as it is (BUNDLE_WRAPPER).
    banner: { js: `${BUNDLE_WRAPPER.start}\n${fileUrlHelper}` },
    footer: { js: BUNDLE_WRAPPER.end },
    // Less to read and hash at each start; names stay (stack traces; VMM_CODE_CACHE=off gives
    // the modules' own lines).
    esbuildOptions(options) {
      options.minifyWhitespace = true;
      options.minifySyntax = true;
      options.legalComments = 'none';
    },
    esbuildPlugins: [importMetaUrlToPackageFile, requiredOnce],
    target: 'node20',
  },
]);
