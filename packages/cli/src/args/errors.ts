/** A problem with the command line itself: printed as one line, exit code 2. */
export class UsageError extends Error {
  readonly code = 'EUSAGE';
}
