// A time in milliseconds a caller gives the library for a timer. setTimeout takes a negative, NaN
// or too large time (past 2^31 - 1) as 1 ms, so a typo would time out at once: it is refused here.
import { VmmError } from '@vmm/hypervisor';

export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` if it is a time a timer can wait; else a VmmError (EINVAL) naming `what` ("vm.shutdown: graceMs"). */
export function timerMs(what: string, ms: number): number {
  if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIMER_MS) return ms;
  throw new VmmError(
    'EINVAL',
    `${what} ${String(ms)} is not a number of milliseconds from 0 to ${MAX_TIMER_MS}`,
  );
}
