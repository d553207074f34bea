// This package's version, for vmm.ping: read from its package.json, which sits one folder above
// the built bundle (dist/) and two above this file in the source tree.
import { createRequire } from 'node:module';

let cached: string | undefined;

export function vmmVersion(): string {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  cached = 'unknown';
  for (const p of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(p) as { name?: string; version?: string };
      if (pkg.name === '@vmm/vmm' && pkg.version) {
        cached = pkg.version;
        break;
      }
    } catch {
      // try the next location (dist vs source tree)
    }
  }
  return cached;
}
