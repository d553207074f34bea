// Reading the kernel and initrd named by a VmConfig, with errors a user can act on. A VM holds
// its files open (BootImages) for its life. The kernel is read where the loader wants it: its
// headers a few KiB at a time, its segments straight into guest RAM (no copy of the file in the
// monitor: a 17.6 MB vmlinux was a third of the monitor's own memory, and 52 ms to read into a
// fresh buffer here). The initrd is read into transient host memory for each boot's load and
// given back once it is in guest RAM. A reboot loads the same files even if their paths were
// replaced meanwhile, as Cloud Hypervisor does.
import fs from 'node:fs';
import { HostBuffer, VmmError } from '@vmm/hypervisor';
import { isLinuxKernel, type KernelSource } from '../arch/x86_64/index';
import type { VmConfig } from '../config';

export interface BootFiles {
  kernel: Uint8Array;
  initrd?: Uint8Array;
  /** The kernel is Linux (its banner is in the image): host quirks apply to it. */
  isLinux: boolean;
}

export class BootFileError extends VmmError {}

/** The whole of both files, in ordinary buffers (for tools; a VM uses BootImages). */
export function readBootFiles(config: Pick<VmConfig, 'kernel' | 'initrd'>): BootFiles {
  const kernelFile = openBootFile(config.kernel, 'kernel', 'EKERNEL');
  let initrdFile: OpenBootFile | undefined;
  try {
    initrdFile = config.initrd === undefined ? undefined : openBootFile(config.initrd, 'initrd', 'EINITRD');
    const kernel = new Uint8Array(fileSize(kernelFile));
    readWhole(kernelFile, kernel);
    let initrd: Uint8Array | undefined;
    if (initrdFile) readWhole(initrdFile, (initrd = new Uint8Array(fileSize(initrdFile))));
    return { kernel, initrd, isLinux: isLinuxKernel(kernel) };
  } finally {
    fs.closeSync(kernelFile.fd);
    if (initrdFile) fs.closeSync(initrdFile.fd);
  }
}

/** What one boot loads: the initrd's bytes are valid until BootImages.release(). */
export interface HeldBootFiles {
  kernel: KernelSource;
  initrd?: Uint8Array;
}

/** A VM's kernel and initrd, open from create to close. */
export class BootImages {
  private linux: boolean | undefined;
  private held: { initrd?: HostBuffer } | undefined;
  private readonly kernel: KernelSource;
  private readonly refreshKernelLength: () => void;
  /** A cpio archive the initrd is followed by (the guest agent's), at `suffixAt(initrd size)`. */
  private suffix: { archive: Uint8Array; at: (length: number) => number } | undefined;

  private constructor(
    private readonly kernelFile: OpenBootFile,
    private readonly initrdFile: OpenBootFile | undefined,
    /** Guest RAM: an initrd larger cannot be loaded, and is refused before it is read. */
    private readonly ramSize: number | undefined,
  ) {
    const file = kernelFile;
    let length = fileSize(file);
    this.kernel = {
      get length() {
        return length;
      },
      readInto: (into, offset) => readAt(file, into, offset),
    };
    // Each boot's load sees the file's length at that time (hold()).
    this.refreshKernelLength = () => (length = fileSize(file));
  }

  /**
   * The kernel is Linux (host quirks apply to it): read from its headers, or its whole file when
   * it has no Linux note, when first asked (a restore never asks).
   */
  get isLinux(): boolean {
    this.linux ??= isLinuxKernel(this.kernel);
    return this.linux;
  }

  /** Opens both files and checks them (regular files, the kernel not empty). */
  static open(config: Pick<VmConfig, 'kernel' | 'initrd'> & { memory?: VmConfig['memory'] }): BootImages {
    const kernelFile = openBootFile(config.kernel, 'kernel', 'EKERNEL');
    let initrdFile: OpenBootFile | undefined;
    try {
      initrdFile = config.initrd === undefined ? undefined : openBootFile(config.initrd, 'initrd', 'EINITRD');
      return new BootImages(kernelFile, initrdFile, config.memory?.size);
    } catch (e) {
      fs.closeSync(kernelFile.fd);
      if (initrdFile) fs.closeSync(initrdFile.fd);
      throw e;
    }
  }

  /** Every boot's initrd is followed by `archive`, starting at `at(the initrd's size)`. */
  appendToInitrd(archive: Uint8Array, at: (length: number) => number): void {
    this.suffix = { archive, at };
    this.release();
  }

  /** The files' bytes, read now unless already held. */
  hold(): HeldBootFiles {
    if (!this.held) {
      this.refreshKernelLength();
      let initrd: HostBuffer | undefined;
      try {
        if (this.initrdFile) {
          const size = fileSize(this.initrdFile);
          const suffix = this.suffix;
          const start = suffix ? suffix.at(size) : size;
          const total = suffix ? start + suffix.archive.length : size;
          // Refused before a byte is read (a 10 GiB file failed as "Invalid typed array length").
          if (this.ramSize !== undefined && total > this.ramSize) {
            const mib = (n: number) => `${Math.ceil(n / 2 ** 20)} MiB`;
            throw new BootFileError(
              'EINITRD',
              `initrd ${this.initrdFile.path} (${mib(total)}) is larger than the guest's RAM (${mib(this.ramSize)}): ` +
                'give the VM more memory or a smaller initrd',
            );
          }
          initrd = HostBuffer.alloc(total);
          readWhole(this.initrdFile, initrd.bytes.subarray(0, size));
          if (suffix) initrd.bytes.set(suffix.archive, start);
        }
      } catch (e) {
        initrd?.free();
        throw e;
      }
      this.held = { initrd };
    }
    return { kernel: this.kernel, initrd: this.held.initrd?.bytes };
  }

  /** Gives the bytes' memory back (the next hold() reads the files again). */
  release(): void {
    this.held?.initrd?.free();
    this.held = undefined;
  }

  close(): void {
    this.release();
    for (const f of [this.kernelFile, this.initrdFile]) {
      if (f && f.fd >= 0) {
        fs.closeSync(f.fd);
        f.fd = -1;
      }
    }
  }
}

interface OpenBootFile {
  fd: number;
  path: string;
  what: string;
  code: string;
}

/**
 * A regular file, open. Opened with O_NONBLOCK and checked on the open descriptor: a FIFO (which
 * would block the open, or the read, until a writer comes), a device or a socket is refused at
 * once, and what is read is what was checked.
 */
function openBootFile(path: string, what: string, code: string): OpenBootFile {
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
    return { fd, path, what, code };
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    throw describeError(e, path, what, code);
  }
}

function fileSize(file: OpenBootFile): number {
  try {
    const size = fs.fstatSync(file.fd).size;
    if (file.what === 'kernel' && size === 0)
      throw new BootFileError(file.code, `kernel ${file.path} is empty`);
    return size;
  } catch (e) {
    throw describeError(e, file.path, file.what, file.code);
  }
}

/** Fills `into` from the file's start; the file must still be at least that long. */
function readWhole(file: OpenBootFile, into: Uint8Array): void {
  readAt(file, into, 0);
}

/** Fills `into` from `offset` of the file; the file must still reach that far. */
function readAt(file: OpenBootFile, into: Uint8Array, offset: number): void {
  try {
    for (let at = 0; at < into.length;) {
      const n = fs.readSync(file.fd, into, at, Math.min(into.length - at, 1 << 30), offset + at);
      if (n === 0) {
        throw new BootFileError(
          file.code,
          `${file.what} ${file.path} ends at ${offset + at} bytes, before the ${offset + into.length} it had: ` +
            'do not change it while a VM uses it',
        );
      }
      at += n;
    }
  } catch (e) {
    throw describeError(e, file.path, file.what, file.code);
  }
}

function describeError(e: unknown, path: string, what: string, code: string): Error {
  if (e instanceof BootFileError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return new BootFileError(code, `${what} ${path} does not exist`);
  if (err.code === 'EACCES')
    return new BootFileError(code, `${what} ${path} is not readable by this user (check its permissions)`);
  if (err.code === 'EISDIR') return new BootFileError(code, `${what} ${path} is a directory, not a file`);
  return new BootFileError(code, `cannot read ${what} ${path}: ${err.message}`);
}
