// A file the VM writes its output to (--serial file=PATH, --console file=PATH), opened before
// /dev/kvm is, so that a path that cannot be written is reported with the other mistakes of a
// command line, as one sentence, not as Node's own error.
import fs from 'node:fs';
import { VmmError } from '@vmm/hypervisor';

/** `path` opened for writing, emptied (created with mode 0644 when it is not there). */
export function openOutputFile(path: string, what: string): number {
  try {
    return fs.openSync(path, 'w', 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    const fix =
      code === 'ENOENT'
        ? 'check that its folder exists'
        : code === 'EISDIR'
          ? 'give the path of a file, not of a directory'
          : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
            ? 'pick a path this user can write'
            : 'pick another path';
    throw new VmmError('EOUTPUTFILE', `${what} ${path} cannot be written (${code}): ${fix}`);
  }
}
