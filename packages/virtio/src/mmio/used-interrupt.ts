// The used-buffer interrupt (virtio 1.2 §2.7.7.2 for suppression, §4.2.2 InterruptStatus bit 0),
// in one form for the transport on the main thread and for a device served in its own I/O thread:
// both set the bit in the same shared InterruptStatus cell.
import type { SplitQueue } from '../queue/split';
import { INTERRUPT_USED_BUFFER } from '../status';

/** After pushUsed: interrupt the driver if `queue`'s suppression rules allow. */
export function signalUsedBuffer(queue: SplitQueue | undefined, isr: Int32Array, raise: () => void): void {
  if (!queue || !queue.needsNotification()) return;
  Atomics.or(isr, 0, INTERRUPT_USED_BUFFER);
  raise();
}
