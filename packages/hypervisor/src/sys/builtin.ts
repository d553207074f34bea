// A Node built-in module loaded when first needed, not at import: node:crypto, say, costs a few ms
// that a VM without a snapshot or an rng never has to pay. Synchronous (createRequire), so a
// constructor can use it; resolved from the node binary's path, which is absolute wherever this
// code runs (an ESM module, a bundle, a fuzz harness without import.meta.url).
import { createRequire } from 'node:module';

let requireBuiltin: NodeJS.Require | undefined;

export function loadBuiltin<T>(name: `node:${string}`): T {
  requireBuiltin ??= createRequire(process.execPath);
  return requireBuiltin(name) as T;
}
