#!/usr/bin/env node
// The `vmm` binary: the CLI from one bundled file whose compiled code V8 keeps between runs
// (code-cache.ts), or, when that cannot be used, from its modules. Built as one CommonJS file
// (dist/bin.cjs, what it imports inlined): an ES module entry costs Node its ES module loader and
// a module graph to resolve before anything runs (docs/benchmarks.md).
import path from 'node:path';
import { runCodeCached } from './code-cache';
import type { start as Start } from './start';

const argv = process.argv.slice(2);
// Built, __dirname is dist, where the bundle is. Run from its source as an ES module (the tests,
// through tsx), there is neither: the modules.
const dir = typeof __dirname === 'string' ? __dirname : undefined;
if (!dir || !runCodeCached(path.join(dir, 'vmm.cjs'), argv)) {
  // dist/start.js, an ES module entry of the package's build (or start.ts, from the source).
  void import('./start.js').then(({ start }: { start: typeof Start }) => start(argv));
}
