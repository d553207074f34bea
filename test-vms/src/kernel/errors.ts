// Typed errors of the kernel and initramfs builders: a stable `code` and a sentence a user
// can act on (what failed, why, what to do).

export class KernelBuildError extends Error {
  constructor(
    readonly code: 'ESOURCE' | 'EPATCH' | 'ECONFIG' | 'EMAKE' | 'ETOOL',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KernelBuildError';
  }
}
