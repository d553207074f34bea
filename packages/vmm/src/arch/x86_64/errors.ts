// Typed errors of x86_64 boot: each names what went wrong, why, and what to do.
import { VmmError } from '@vmm/hypervisor';

/** The file is not a kernel format we can boot (neither ELF64 x86_64 nor a bzImage). */
export class KernelFormatError extends VmmError {
  constructor(message: string) {
    super('EKERNELFORMAT', message);
  }
}

/** The kernel is of a known format but corrupt: a header, table or segment lies outside the file. */
export class KernelImageError extends VmmError {
  constructor(message: string) {
    super('EKERNELIMAGE', message);
  }
}

/** The kernel is well formed but lacks what we need (boot protocol too old, no 64-bit entry). */
export class KernelUnsupportedError extends VmmError {
  constructor(message: string) {
    super('EKERNELUNSUPPORTED', message);
  }
}

/** The kernel does not fit in guest RAM where it must be loaded. */
export class KernelFitError extends VmmError {
  constructor(message: string) {
    super('EKERNELFIT', message);
  }
}

/** The initrd does not fit below the highest address the kernel accepts. */
export class InitrdFitError extends VmmError {
  constructor(message: string) {
    super('EINITRDFIT', message);
  }
}

/** The command line is longer than the kernel (or our layout) accepts, or holds a NUL byte. */
export class CommandLineError extends VmmError {
  constructor(message: string) {
    super('ECMDLINE', message);
  }
}

/** The requested RAM size is too small, too large or not page-aligned. */
export class MemorySizeError extends VmmError {
  constructor(message: string) {
    super('EMEMSIZE', message);
  }
}
