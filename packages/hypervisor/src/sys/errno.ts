// errno numbers to their names ("ENOTTY") and messages ("Inappropriate ioctl for device").
import koffi from 'koffi';
import { libc } from './libc';

let names: Map<number, string> | undefined;

/** The symbolic name of an errno value, e.g. 25 -> "ENOTTY" ("E25" if unknown). */
export function errnoName(errno: number): string {
  if (!names) {
    names = new Map();
    for (const [name, value] of Object.entries(koffi.os.errno)) {
      // Aliases (EWOULDBLOCK = EAGAIN, EDEADLOCK = EDEADLK): keep the first, canonical name.
      if (!names.has(value)) names.set(value, name);
    }
  }
  return names.get(errno) ?? `E${errno}`;
}

/** "ENOTTY (Inappropriate ioctl for device)". */
export function describeErrno(errno: number): string {
  return `${errnoName(errno)} (${libc().strerror(errno)})`;
}

/** errno values we test for. Linux x86_64 (asm-generic/errno-base.h, errno.h). */
export const EINTR = 4;
export const EAGAIN = 11;
export const EACCES = 13;
export const ENOENT = 2;
export const E2BIG = 7;
export const EINVAL = 22;
export const ENOTTY = 25;
export const EPERM = 1;
export const ESRCH = 3;
