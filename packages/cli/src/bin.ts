#!/usr/bin/env node
// The `vmm` binary: the CLI from one bundled file whose compiled code V8 keeps between runs
// (code-cache.ts), or, when that cannot be used, from its modules.
import { runCodeCached } from './code-cache';

const argv = process.argv.slice(2);
if (!runCodeCached(new URL('./vmm.cjs', import.meta.url), argv)) {
  const { start } = await import('./start');
  await start(argv);
}
