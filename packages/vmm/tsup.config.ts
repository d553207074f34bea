import path from 'node:path';
import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';
import { koffiMajor } from '../../tools/build/koffi-major';
import { requiredOnce, requiredOnceOptions } from '../../tools/build/required-once';
import { BUNDLE_WRAPPER } from './src/code-cache';

/**
 * In the pooled worker's bundle, `@vmm/virtio` is only the register layout a vCPU thread reads
 * (vcpu/virtio-isr-window.ts): importing the package would load it, @vmm/net and their Node
 * modules into every vCPU thread. Anything else taken from it there fails the build, loudly.
 */
const virtioRegistersOnly: Plugin = {
  name: 'virtio-registers-only',
  setup(build) {
    build.onResolve({ filter: /^@vmm\/virtio$/ }, () => ({ path: '@vmm/virtio', namespace: 'vcpu-thread' }));
    build.onLoad({ filter: /.*/, namespace: 'vcpu-thread' }, () => ({
      contents: "export * as mmioRegisters from './mmio/registers';",
      resolveDir: path.resolve(import.meta.dirname, '../virtio/src'),
      loader: 'ts',
    }));
  },
};

// koffi-native.ts takes koffi straight from its native module only at the major of our range.
const koffiDefine = { __KOFFI_MAJOR__: JSON.stringify(koffiMajor()) };

/** The pooled worker's CommonJS files: @vmm/hypervisor inlined, koffi external. */
const workerCommonJs = {
  outDir: 'dist/io',
  format: ['cjs'],
  outExtension: () => ({ js: '.cjs' }),
  ...requiredOnceOptions(['@vmm/virtio', '@vmm/hypervisor']),
  external: ['koffi', './pool-worker.js'],
  define: koffiDefine,
  esbuildPlugins: [virtioRegistersOnly, requiredOnce],
  platform: 'node',
  splitting: false,
  sourcemap: false,
  clean: false,
  target: 'node20',
} as const;

export default defineConfig([
  {
    // warm: the worker pool alone (@vmm/vmm/warm); it shares the pool's chunk with index, so
    // both see one pool.
    // api and agent: entries of their own, loaded only by a program that uses them (index.ts).
    // code-cache and koffi-native: what runs a code-cached bundle with koffi from its native
    // module (@vmm/cli's bin inlines them from the sources, before anything else loads).
    entry: {
      index: 'src/index.ts',
      warm: 'src/warm.ts',
      api: 'src/api.ts',
      agent: 'src/agent.ts',
      'code-cache': 'src/code-cache.ts',
      'koffi-native': 'src/koffi-native.ts',
    },
    format: ['esm'],
    define: koffiDefine,
    dts: true,
    sourcemap: true,
    clean: ['!io/**'],
    target: 'node20',
  },
  {
    // The pooled worker's entry (worker-url.ts), one file: a vCPU thread loads it,
    // @vmm/hypervisor and koffi, nothing else.
    entry: { 'pool-worker': 'src/io/pool-worker.ts' },
    outDir: 'dist/io',
    format: ['esm'],
    noExternal: ['@vmm/virtio'],
    esbuildPlugins: [virtioRegistersOnly],
    sourcemap: true,
    clean: ['!device-thread.*', '!pool-worker*.cjs'],
    target: 'node20',
  },
  {
    // The same pooled worker as one CommonJS file with @vmm/hypervisor inlined (koffi external:
    // a native module), in Node's function wrapper already (code-cache.ts compiles it as it is).
    entry: { 'pool-worker': 'src/io/pool-worker.ts' },
    ...workerCommonJs,
    banner: { js: BUNDLE_WRAPPER.start },
    footer: { js: BUNDLE_WRAPPER.end },
  },
  {
    // Its entry, which runs it with a V8 code cache (pool-worker-loader.ts): a plain CommonJS file.
    entry: { 'pool-worker-loader': 'src/io/pool-worker-loader.ts' },
    ...workerCommonJs,
  },
  {
    // A device's I/O thread: it imports @vmm/virtio itself (its device's module).
    entry: { 'device-thread': 'src/io/device-thread.ts' },
    outDir: 'dist/io',
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
  },
]);
