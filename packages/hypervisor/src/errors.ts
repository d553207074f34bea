// Typed errors with a stable `code` and a sentence a user can act on (what, why, what to do).

export class VmmError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The hypervisor device or framework cannot be used (missing, no permission, too old). */
export class HypervisorUnavailableError extends VmmError {}

/** A system call into the hypervisor failed. `errno` is the host's error number. */
export class HypervisorCallError extends VmmError {
  constructor(
    readonly call: string,
    readonly errno: number,
    message: string,
  ) {
    super('EHYPERCALL', message);
  }
}

/** An access outside guest RAM. */
export class GuestMemoryError extends VmmError {
  constructor(
    readonly gpa: number,
    readonly len: number,
  ) {
    super('EGUESTMEM', `guest address range 0x${gpa.toString(16)}+${len} is outside guest memory`);
  }
}
