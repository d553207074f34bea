// VMM_DEBUG's lines ("vmm: <what>: <line>"), written straight to fd 2: from the main thread or a
// worker alike (a pooled worker's stderr stream is read only once a VM takes it), and without
// opening process.stderr, which for a pipe loads node:net on the way to the guest.
import fs from 'node:fs';

export function debugLine(what: string, line: string): void {
  if (!process.env.VMM_DEBUG) return;
  try {
    fs.writeSync(2, `vmm: ${what}: ${line}\n`);
  } catch {
    // a diagnostic that cannot be written is dropped
  }
}
