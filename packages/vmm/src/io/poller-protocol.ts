// Between the poller thread (poller-worker.ts) and the main thread (eventfd-poller.ts): one Int32
// word "a message is outstanding", then one "fired" flag per watched eventfd.
export const FIRED_OUTSTANDING = 0;
/** The most eventfds one poller watches (every queue of every virtio device of a VM). */
export const MAX_WATCHES = 1024;
export const FIRED_WORDS = 1 + MAX_WATCHES;

/** The word of watch `i`'s flag. */
export function firedFlag(i: number): number {
  return 1 + i;
}
