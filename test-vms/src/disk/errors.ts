// Typed errors of the disk image builders and readers: a stable `code` and a sentence a user can
// act on (what failed, why, what to do).

export class DiskImageError extends Error {
  constructor(
    readonly code: 'ETOOL' | 'ESIZE' | 'ENOENT' | 'EPATH' | 'EMKFS' | 'EDEBUGFS' | 'EFSCK',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DiskImageError';
  }
}
