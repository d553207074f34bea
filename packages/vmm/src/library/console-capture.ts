// The guest's console as a library user sees it: output split into lines (events), the recent
// output kept for waitFor(), input written to the guest. Bounded: a guest that prints without
// end costs at most KEEP_BYTES of history and MAX_LINE bytes of a line without a newline.
import { PassThrough } from 'node:stream';
import { VmmError } from '@vmm/hypervisor';
import { timerMs } from './timer-ms';

/** The longest wait setTimeout keeps (2^31 - 1 ms, ~24.8 days); a longer one fires at once. */

/** Output kept for waitFor() (the newest; older output is gone from it). */
const KEEP_BYTES = 1024 * 1024;
/** A line longer than this is delivered in pieces of this size. */
const MAX_LINE = 64 * 1024;

export interface WaitForOptions {
  /** Give up after this long (default 30 s) with a VmmError 'ETIMEDOUT'. */
  timeoutMs?: number;
  /** Look only at output that arrives from now on (default: the kept output counts too). */
  fromNow?: boolean;
}

interface Waiter {
  pattern: RegExp | string;
  from: number;
  resolve: (m: RegExpMatchArray | string) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class ConsoleCapture {
  /** What the guest writes to COM1's input (the library writes here; VmmOptions.input reads). */
  readonly input = new PassThrough();
  private text = '';
  /** Characters dropped from the front of `text` so far (waiters' positions are absolute). */
  private dropped = 0;
  private partial = '';
  private readonly decoder = new TextDecoder();
  private waiters: Waiter[] = [];
  /** When output last came (Date.now()); 0 before any. */
  private lastOutputAt = 0;
  private endedWith: Error | undefined;

  constructor(private readonly onLine: (line: string) => void) {}

  /** All output kept (the newest KEEP_BYTES characters). */
  get output(): string {
    return this.text;
  }

  /**
   * Send text (or bytes) to the guest's console input. False when the guest has not read what came
   * before (past 64 KiB held for it, the input is paused): what was given is kept, and a caller
   * that sends much waits for `input`'s 'drain' before it writes more.
   */
  write(data: string | Uint8Array): boolean {
    if (typeof data !== 'string' && !(data instanceof Uint8Array))
      throw new VmmError(
        'EINVAL',
        `console.write: give a string or bytes (a Uint8Array), not ${typeof data}`,
      );
    return this.input.write(data);
  }

  /**
   * Resolve when the output matches `pattern` (a RegExp: its match; a string: the string), looking
   * at the kept output unless `fromNow`. Rejects on timeout, or when the VM ends first.
   */
  waitFor(pattern: RegExp | string, options: WaitForOptions = {}): Promise<RegExpMatchArray | string> {
    const from = options.fromNow ? this.dropped + this.text.length : this.dropped;
    let timeoutMs: number;
    try {
      timeoutMs = timerMs('console.waitFor: timeoutMs', options.timeoutMs ?? 30_000);
      if (typeof pattern !== 'string' && !(pattern instanceof RegExp))
        throw new VmmError(
          'EINVAL',
          `console.waitFor: the pattern ${String(pattern)} is not a RegExp or a string`,
        );
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new VmmError(
            'ETIMEDOUT',
            `the guest's console did not show ${String(pattern)} within ${timeoutMs} ms (its last output: ${JSON.stringify(this.text.slice(-200))})`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = { pattern, from, resolve, reject, timer };
      if (this.settle(waiter)) return;
      if (this.endedWith) {
        clearTimeout(timer);
        reject(this.endedWith);
        return;
      }
      this.waiters.push(waiter);
    });
  }

  /** Output from the guest, as it comes. */
  push(chunk: Uint8Array): void {
    const s = this.decoder.decode(chunk, { stream: true });
    if (s === '') return;
    this.lastOutputAt = Date.now();
    this.text += s;
    if (this.text.length > KEEP_BYTES) {
      const cut = this.text.length - KEEP_BYTES;
      this.text = this.text.slice(cut);
      this.dropped += cut;
    }
    this.lines(s);
    if (this.waiters.length > 0) this.waiters = this.waiters.filter((w) => !this.settle(w));
  }

  /**
   * How far the guest got, for an error after a long wait on it: its last console line and how
   * long ago it came. Undefined before any output.
   */
  progress(now = Date.now()): string | undefined {
    if (this.lastOutputAt === 0) return undefined;
    const tail = this.text.slice(-4096).trimEnd();
    const line = tail
      .slice(tail.lastIndexOf('\n') + 1)
      .replace(/\r$/, '')
      .slice(0, 200);
    return `the guest's console last printed ${((now - this.lastOutputAt) / 1000).toFixed(1)} s ago: ${JSON.stringify(line)}`;
  }

  /** The VM ended: waiters still waiting learn why. */
  end(reason: Error): void {
    if (this.partial !== '') this.onLine(this.partial);
    this.partial = '';
    this.endedWith = reason;
    this.input.end();
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(reason);
    }
  }

  private lines(s: string): void {
    let text = this.partial + s;
    for (;;) {
      const nl = text.indexOf('\n');
      if (nl < 0) break;
      this.onLine(text.slice(0, nl).replace(/\r$/, ''));
      text = text.slice(nl + 1);
    }
    while (text.length > MAX_LINE) {
      this.onLine(text.slice(0, MAX_LINE));
      text = text.slice(MAX_LINE);
    }
    this.partial = text;
  }

  /** True (and the waiter resolved) when the kept output from its start matches. */
  private settle(w: Waiter): boolean {
    const start = Math.max(0, w.from - this.dropped);
    const hay = this.text.slice(start);
    const m =
      typeof w.pattern === 'string' ? (hay.includes(w.pattern) ? w.pattern : null) : hay.match(w.pattern);
    if (m === null) return false;
    clearTimeout(w.timer);
    w.resolve(m);
    return true;
  }
}
