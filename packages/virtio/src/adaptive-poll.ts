// How long an I/O thread busy-polls for work (a device thread its queues, the /dev/fuse loop its
// fd) before it sleeps in poll(2): QEMU's adaptive polling (util/aio-posix.c,
// adjust_polling_time; its iothreads' poll-max-ns, poll-grow 2 from 4 µs, poll-shrink 2). After
// each wait the thread records how long it waited for work in all (`blockedNs`, polling included):
//   - within the window: the window is right, keep it;
//   - past the most we may poll: polling would not have caught it, halve the window;
//   - past the window but within the most: a longer window would have caught it, double it.
// Halving rather than QEMU's default drop to 0: one request that misses the window makes the
// guest halt and wait for an interrupt, which makes its next request late too; dropping to 0
// turned one miss into a run of them (measured with blk-bench here).
// So an idle device never polls, and a device busy with one request after another polls just
// long enough to catch the next one without a wake-up (which here includes the guest's own
// `hlt` and interrupt: a request done before the guest halts costs it neither).

/** The window QEMU grows from. */
export const POLL_START_NS = 4_000;

export class AdaptivePollWindow {
  /** The current window; 0: do not poll, sleep at once. */
  ns = 0;

  /** @param maxNs the most the window may grow to; 0 turns polling off. */
  constructor(readonly maxNs: number) {
    if (!(Number.isFinite(maxNs) && maxNs >= 0)) throw new RangeError(`poll window ${maxNs} ns`);
  }

  /** The thread waited `blockedNs` in all (polling, then maybe poll(2)) for the work it just got. */
  record(blockedNs: number): void {
    if (blockedNs <= this.ns) return;
    if (blockedNs > this.maxNs) this.ns = this.ns > POLL_START_NS ? this.ns / 2 : 0;
    else this.ns = Math.min(this.maxNs, this.ns === 0 ? POLL_START_NS : this.ns * 2);
  }
}
