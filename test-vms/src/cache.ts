// Where test-vms builds its artefacts: a cache directory, never the source tree.
// VMM_CACHE_DIR overrides; default $XDG_CACHE_HOME/vmm-test-vms or ~/.cache/vmm-test-vms.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function cacheDir(...parts: string[]): string {
  const base =
    process.env.VMM_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'vmm-test-vms');
  const dir = path.join(base, ...parts);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A short hash of files' contents and extra strings: the key that decides a rebuild. */
export function contentKey(files: readonly string[], extra: readonly string[] = []): string {
  const h = createHash('sha256');
  for (const f of [...files].sort()) {
    h.update(path.basename(f)).update('\0').update(fs.readFileSync(f)).update('\0');
  }
  for (const e of extra) h.update(e).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** The test-vms source directory (test-vms/). */
export const testVmsRoot = path.resolve(import.meta.dirname, '..');
