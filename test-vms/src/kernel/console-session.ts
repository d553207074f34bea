// Drives a guest's serial console from a test: collects everything the guest prints, waits for
// a pattern in what arrived after the last match, and types commands. Works on any pair of
// streams (QEMU's stdio, our monitor's console socket).
import type { Readable, Writable } from 'node:stream';

export class ConsoleTimeoutError extends Error {
  readonly code = 'ECONSOLETIMEOUT';
  constructor(pattern: RegExp, ms: number, tail: string) {
    super(`console: no ${String(pattern)} within ${ms} ms; the guest's last output:\n${tail}`);
    this.name = 'ConsoleTimeoutError';
  }
}

export class ConsoleSession {
  /** Everything the guest printed so far. */
  output = '';
  /** Offset in `output` where the next waitFor() starts looking. */
  private cursor = 0;
  private waiters = new Set<() => void>();
  private closed = false;

  constructor(
    from: Readable,
    private readonly to: Writable,
  ) {
    from.setEncoding('utf8');
    from.on('data', (s: string) => {
      this.output += s;
      for (const w of this.waiters) w();
    });
    from.on('close', () => {
      this.closed = true;
      for (const w of this.waiters) w();
    });
  }

  /** Resolves with the first match of `pattern` after the previous match; rejects after `ms`. */
  waitFor(pattern: RegExp, ms: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(
          this.output.slice(this.cursor),
        );
        if (m) {
          this.cursor += m.index + m[0].length;
          done();
          resolve(m);
        } else if (this.closed) {
          done();
          reject(new ConsoleTimeoutError(pattern, 0, `${this.output.slice(-2000)}\n(console closed)`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new ConsoleTimeoutError(pattern, ms, this.output.slice(-2000)));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Types `text` on the console (add "\n" to run a command). */
  send(text: string): void {
    this.to.write(text);
  }
}
