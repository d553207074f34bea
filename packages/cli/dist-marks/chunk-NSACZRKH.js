// src/commands/stop-signals.ts
var SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];
var StopSignals = class {
  /** `onStop` runs on the first of them (each signal once). */
  constructor(onStop) {
    this.onStop = onStop;
    for (const s of SIGNALS) process.once(s, this.handler);
  }
  onStop;
  /** A stop signal came. */
  received = false;
  handler = () => {
    this.received = true;
    this.onStop();
  };
  /**
   * The run ended with `code`: stop listening, and let stdout's backlog be written unless a stop
   * signal came (then the process exits now) or comes (then it exits then).
   */
  settle(code) {
    for (const s of SIGNALS) process.off(s, this.handler);
    const out = process.stdout;
    if (out.writableLength === 0) return;
    const drop = () => {
      process.stderr.write(
        `vmm: stopped with ${out.writableLength} bytes of guest output that stdout had not taken: they are dropped
`
      );
      process.exit(code);
    };
    if (this.received) drop();
    for (const s of SIGNALS) process.once(s, drop);
  }
};

export {
  StopSignals
};
//# sourceMappingURL=chunk-NSACZRKH.js.map