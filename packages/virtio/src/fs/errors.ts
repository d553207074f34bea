// Typed errors of the shared-directory server: the host side only (a bad share path or option, a
// mount that failed). What a guest sends never becomes one of these: it gets an errno reply.
import { VirtioConfigError } from '../errors';

/** A shared directory cannot be served as configured. `code` says which part is wrong. */
export class FsShareError extends VirtioConfigError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
