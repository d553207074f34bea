// Where the VM writes its output. A file (--serial file=PATH, --console file=PATH) is opened
// before /dev/kvm is, so that a path that cannot be written is reported with the other mistakes of
// a command line, as one sentence, not as Node's own error. Every output a vCPU thread writes is
// non-blocking: a pipe or terminal that stops taking output then makes the thread wait in its own
// loop, which a stop ends (uart16550.ts), not in the kernel, where nothing could.
import fs from 'node:fs';
import { setNonBlocking, VmmError } from '@vmm/hypervisor';

const { O_WRONLY, O_CREAT, O_TRUNC, O_APPEND, O_NONBLOCK, O_NOCTTY } = fs.constants;

/** How an output file is opened: emptied (a new VM) or appended to (a restored one goes on). */
export type OutputStart = 'new' | 'continue';

/**
 * `path` opened for writing (created with mode 0644 when it is not there), non-blocking: a FIFO
 * no process reads is refused at once (ENXIO) instead of holding the start up. `new` empties it;
 * `continue` appends, for a VM restored from a snapshot, whose output goes on after what it
 * wrote there before the snapshot.
 */
export function openOutputFile(path: string, what: string, mode: OutputStart = 'new'): number {
  const start = mode === 'new' ? O_TRUNC : O_APPEND;
  try {
    return fs.openSync(path, O_WRONLY | O_CREAT | start | O_NONBLOCK | O_NOCTTY, 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    const fix =
      code === 'ENOENT'
        ? 'check that its folder exists'
        : code === 'EISDIR'
          ? 'give the path of a file, not of a directory'
          : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
            ? 'pick a path this user can write'
            : code === 'ENXIO'
              ? 'it is a FIFO that no process reads: start its reader first'
              : 'pick another path';
    throw new VmmError('EOUTPUTFILE', `${what} ${path} cannot be written (${code}): ${fix}`);
  }
}

/**
 * A description of its own, non-blocking, of the pipe or terminal `fd` writes to (opened again
 * through /proc, as libuv reopens a terminal), or undefined for a regular file or a socket (or
 * when it cannot be reopened): those are used as they are. The shared description (the shell's
 * terminal, a parent's pipe) keeps its flags. A socket (a parent's `spawn` with stdio 'pipe')
 * cannot be opened again: its description is made non-blocking, as Node does when it opens
 * process.stdout on one, so that a stop can end a write its reader does not take (the vCPU thread
 * blocked in write(2) for good, and SIGTERM with it, once nothing here opened process.stdout).
 * The caller closes the fd it gets.
 */
export function reopenNonBlocking(fd: number): number | undefined {
  try {
    const st = fs.fstatSync(fd);
    if (st.isSocket()) setNonBlocking(fd);
    if (!st.isFIFO() && !st.isCharacterDevice()) return undefined;
    return fs.openSync(`/proc/self/fd/${fd}`, O_WRONLY | O_NONBLOCK | O_NOCTTY);
  } catch {
    return undefined;
  }
}
