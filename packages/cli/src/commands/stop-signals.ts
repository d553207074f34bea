// How `vmm run` ends on SIGINT, SIGTERM and SIGHUP (its terminal gone, as QEMU ends on it): the VM
// is stopped, and the process exits with the run's code. Guest output that Node still holds for
// stdout (a terminal or pipe slower than the guest: virtio-console on the terminal) is written
// before the process ends, so nothing is lost; but a reader that takes nothing more would hold the
// process open for ever, so a stop signal, before or during that wait, drops the rest, says so on
// stderr and ends the process at once.

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export class StopSignals {
  /** A stop signal came. */
  received = false;
  private readonly handler = () => {
    this.received = true;
    this.onStop();
  };

  /** `onStop` runs on the first of them (each signal once). */
  constructor(private readonly onStop: () => void) {
    for (const s of SIGNALS) process.once(s, this.handler);
  }

  /**
   * The run ended with `code`: stop listening, and let stdout's backlog be written unless a stop
   * signal came (then the process exits now) or comes (then it exits then).
   */
  settle(code: number): void {
    for (const s of SIGNALS) process.off(s, this.handler);
    const out = process.stdout;
    if (out.writableLength === 0) return;
    const drop = () => {
      process.stderr.write(
        `vmm: stopped with ${out.writableLength} bytes of guest output that stdout had not taken: they are dropped\n`,
      );
      // The CLI's own exit: the queued write would keep the event loop, and so the process, alive.
      process.exit(code);
    };
    if (this.received) drop();
    // Signal listeners do not keep the process alive: it ends when the write completes.
    for (const s of SIGNALS) process.once(s, drop);
  }
}
