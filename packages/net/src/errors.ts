// Typed errors of @vmm/net. This package imports nothing of ours, so it has its own base class with
// the same shape as @vmm/hypervisor's VmmError: a stable `code` and a sentence a user can act on.

export class NetError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad network configuration (address, port forward, MTU, DNS upstream). */
export class NetConfigError extends NetError {
  constructor(message: string) {
    super('ENETCONFIG', message);
  }
}

/** A host system call (tap device, namespace switch) failed. `errno` is the host's error number. */
export class NetSysError extends NetError {
  constructor(
    readonly call: string,
    readonly errno: number,
    message: string,
  ) {
    super('ENETSYS', message);
  }
}
