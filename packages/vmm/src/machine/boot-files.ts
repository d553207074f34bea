// Reading the kernel and initrd named by a VmConfig, with errors a user can act on.
import fs from 'node:fs';
import { VmmError } from '@vmm/hypervisor';
import { isLinuxKernel } from '../arch/x86_64/index';
import type { VmConfig } from '../config';

export interface BootFiles {
  kernel: Uint8Array;
  initrd?: Uint8Array;
  /** The kernel is Linux (its banner is in the image): host quirks apply to it. */
  isLinux: boolean;
}

export class BootFileError extends VmmError {}

export function readBootFiles(config: Pick<VmConfig, 'kernel' | 'initrd'>): BootFiles {
  const kernel = readFile(config.kernel, 'kernel', 'EKERNEL');
  if (kernel.length === 0) throw new BootFileError('EKERNEL', `kernel ${config.kernel} is empty`);
  const initrd = config.initrd === undefined ? undefined : readFile(config.initrd, 'initrd', 'EINITRD');
  return { kernel, initrd, isLinux: isLinuxKernel(kernel) };
}

/**
 * The whole of a regular file. Opened with O_NONBLOCK and checked on the open descriptor: a FIFO
 * (which would block the open, or the read, until a writer comes), a device or a socket is
 * refused at once, and what is read is what was checked.
 */
function readFile(path: string, what: string, code: string): Uint8Array {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new BootFileError(code, `${what} ${path} is a directory, not a file`);
    if (!st.isFile()) {
      const kind = st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device';
      throw new BootFileError(
        code,
        `${what} ${path} is ${kind}, not a regular file: give the path of the file itself`,
      );
    }
    return fs.readFileSync(fd);
  } catch (e) {
    if (e instanceof BootFileError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new BootFileError(code, `${what} ${path} does not exist`);
    if (err.code === 'EACCES') {
      throw new BootFileError(code, `${what} ${path} is not readable by this user (check its permissions)`);
    }
    if (err.code === 'EISDIR') throw new BootFileError(code, `${what} ${path} is a directory, not a file`);
    throw new BootFileError(code, `cannot read ${what} ${path}: ${err.message}`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
