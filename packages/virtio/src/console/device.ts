// virtio-console, port 0 only (hvc0): virtio 1.2 §5.3. What the guest transmits goes to an
// output (a writable stream or a file descriptor); what the input stream yields is delivered into
// the guest's receive buffers, held (bounded, with the stream paused) while it has none posted.
//
// Bounded, whatever the guest does: one transmit call takes at most a queue's worth of buffers
// and MAX_BATCH_BYTES (then requeues); a buffer's first MAX_CHAIN_OUTPUT bytes are written, the
// rest dropped and counted (Linux never sends more than 32 KiB in one); a stream output that
// signals backpressure stops the transmit queue until it drains (the guest's ring fills and its
// writer waits, as on a slow serial line); a file output stops at `outputLimit` bytes. A failed
// output (EPIPE, ENOSPC, ...) loses console text, never the VM.
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { LogSink } from '@vmm/hypervisor';
import type { DeviceContext, VirtioDevice } from '../device';
import { TRANSPORT_FEATURES } from '../features';
import { DescriptorChain } from '../queue/chain';
import { DEVICE_ID_CONSOLE } from '../status';
import * as L from './layout';

/** A stream-like sink: `write` returning false asks the writer to wait for 'drain'. */
export interface ConsoleOutput {
  write(chunk: Uint8Array): unknown;
  once?(event: 'drain', listener: () => void): unknown;
  on?(event: 'error', listener: (e: Error) => void): unknown;
}

export interface ConsoleDeviceOptions {
  /** Where hvc0 output goes: a stream-like sink, a file descriptor, or nowhere. */
  output?: ConsoleOutput | number;
  /** A file descriptor output stops after this many bytes (later output is dropped and counted). */
  outputLimit?: number;
  /** Where hvc0 input comes from. */
  input?: Readable;
  /** QueueNumMax of both queues (default 64). */
  queueSize?: number;
  /** One line per event worth a user's attention (rate-limited by the caller). */
  log?: LogSink;
}

export type ConsoleDeviceStats = {
  /** Bytes the guest transmitted that reached the output. */
  txBytes: number;
  /** Bytes the guest transmitted that were dropped (over a buffer's bound, over the output limit, output failed). */
  txDropped: number;
  /** Bytes of input delivered to the guest. */
  rxBytes: number;
};

/** Input bytes held while the guest has no receive buffer; the input is paused above this. */
const INPUT_HIGH_WATER = 64 * 1024;
/** Bytes written from one transmit buffer at most. */
export const MAX_CHAIN_OUTPUT = 64 * 1024;
/** Bytes written per transmit call at most (then the rest is requeued). */
const MAX_BATCH_BYTES = 1024 * 1024;

export class ConsoleDevice implements VirtioDevice {
  readonly deviceId = DEVICE_ID_CONSOLE;
  readonly features = TRANSPORT_FEATURES;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = L.CONFIG_SIZE;
  readonly stats: ConsoleDeviceStats = { txBytes: 0, txDropped: 0, rxBytes: 0 };

  private ctx: DeviceContext | undefined;
  private rxChain: DescriptorChain | undefined;
  private txChain: DescriptorChain | undefined;
  private readonly output: ConsoleOutput | number | undefined;
  private readonly outputLimit: number;
  private outputWritten = 0;
  /** The output failed or reached its limit: what the guest writes is dropped from now on. */
  private outputClosed = false;
  /** A stream output asked us to wait for 'drain'. */
  private txBlocked = false;
  private readonly input: Readable | undefined;
  private readonly log: LogSink | undefined;
  private readonly pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Bytes of pending[0] already delivered. */
  private pendingOffset = 0;
  private readonly views: Uint8Array[] = [];
  private readonly onData = (chunk: Buffer | string): void => this.receive(chunk);
  private readonly onDrain = (): void => {
    this.txBlocked = false;
    this.transmit();
  };

  constructor(options: ConsoleDeviceOptions = {}) {
    const qs = options.queueSize ?? 64;
    this.queueMaxSizes = [qs, qs];
    this.output = options.output;
    this.outputLimit = options.outputLimit ?? Infinity;
    this.input = options.input;
    this.log = options.log;
    this.input?.on('data', this.onData);
    if (typeof this.output === 'object') this.output.on?.('error', (e) => this.outputFailed(e));
  }

  readConfig(_offset: number, data: Uint8Array): void {
    // cols, rows, max_nr_ports and emerg_wr are only meaningful with features we do not offer: zeros.
    data.fill(0);
  }

  writeConfig(): void {}

  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.rxChain ??= new DescriptorChain(this.queueMaxSizes[0]!);
    this.txChain ??= new DescriptorChain(this.queueMaxSizes[1]!);
    this.transmit();
    this.deliver();
  }

  queueNotify(index: number): void {
    if (index === L.CONSOLE_TRANSMITQ) this.transmit();
    else if (index === L.CONSOLE_RECEIVEQ) this.deliver();
  }

  reset(): void {
    this.ctx = undefined;
    this.rxChain?.unbind();
    this.txChain?.unbind();
  }

  /** Stop listening to the input. */
  close(): void {
    this.input?.off('data', this.onData);
    this.reset();
  }

  private transmit(): void {
    const ctx = this.ctx;
    const chain = this.txChain;
    if (!ctx || !chain || this.txBlocked) return;
    const q = ctx.queues[L.CONSOLE_TRANSMITQ]!;
    let budget = q.size;
    let bytes = 0;
    do {
      for (;;) {
        if (budget-- <= 0 || bytes >= MAX_BATCH_BYTES) {
          ctx.signalUsed(L.CONSOLE_TRANSMITQ);
          if (q.hasAvailable()) ctx.requeue(L.CONSOLE_TRANSMITQ);
          return;
        }
        const r = q.pop(chain);
        if (r === 'broken') return ctx.needsReset();
        if (r === 'empty') break;
        const n = Math.min(chain.readableBytes, MAX_CHAIN_OUTPUT);
        if (chain.readableBytes > n) this.dropped(chain.readableBytes - n, 'a transmit buffer over 64 KiB');
        if (n > 0) this.emit(chain, n);
        bytes += n;
        q.pushUsed(chain.head, 0);
        if (this.txBlocked) {
          // The rest waits in the ring until the output drains (onDrain).
          ctx.signalUsed(L.CONSOLE_TRANSMITQ);
          return;
        }
      }
      ctx.signalUsed(L.CONSOLE_TRANSMITQ);
    } while (q.enableNotification());
  }

  /** Write the first `n` readable bytes of `chain` to the output. */
  private emit(chain: DescriptorChain, n: number): void {
    const out = this.output;
    if (out === undefined) return;
    if (this.outputClosed) return this.dropped(n);
    if (typeof out === 'number') {
      const room = this.outputLimit - this.outputWritten;
      const k = Math.min(n, room);
      // Straight from guest memory to the file: no copy.
      this.views.length = 0;
      chain.readableViews(0, k, this.views);
      try {
        for (const v of this.views) writeAllSync(out, v);
        this.outputWritten += k;
        this.stats.txBytes += k;
      } catch (e) {
        this.views.length = 0;
        return this.outputFailed(e as Error, n);
      }
      this.views.length = 0;
      if (k < n) {
        this.outputClosed = true;
        this.log?.(
          'console-limit',
          `virtio-console: output reached its limit of ${this.outputLimit} bytes; later output is dropped`,
        );
        this.dropped(n - k);
      }
      return;
    }
    // The guest may reuse its buffer once it is used: the stream gets its own copy.
    const copy = Buffer.allocUnsafe(n);
    chain.read(0, copy, 0, n);
    this.stats.txBytes += n;
    if (out.write(copy) === false && out.once) {
      this.txBlocked = true;
      out.once('drain', this.onDrain);
    }
  }

  private outputFailed(e: Error, lost = 0): void {
    if (!this.outputClosed) {
      this.outputClosed = true;
      this.log?.(
        'console-output',
        `virtio-console: output failed (${(e as NodeJS.ErrnoException).code ?? e.message}); later output is dropped, the VM goes on`,
      );
    }
    this.txBlocked = false;
    this.dropped(lost);
  }

  private dropped(n: number, why?: string): void {
    this.stats.txDropped += n;
    if (why) this.log?.('console-dropped', `virtio-console: dropped ${n} bytes of ${why}`);
  }

  private receive(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (bytes.length === 0) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.deliver();
    if (this.pendingBytes > INPUT_HIGH_WATER) this.input?.pause();
  }

  private deliver(): void {
    const ctx = this.ctx;
    const chain = this.rxChain;
    if (!ctx || !chain || this.pendingBytes === 0) return;
    const q = ctx.queues[L.CONSOLE_RECEIVEQ]!;
    let pushed = false;
    let budget = q.size;
    while (this.pendingBytes > 0) {
      if (budget-- <= 0) {
        ctx.requeue(L.CONSOLE_RECEIVEQ);
        break;
      }
      const r = q.pop(chain);
      if (r === 'broken') return ctx.needsReset();
      if (r === 'empty') {
        if (!q.enableNotification()) break;
        continue;
      }
      let n = 0;
      while (n < chain.writableBytes && this.pending.length > 0) {
        const head = this.pending[0]!;
        const k = chain.write(n, head, this.pendingOffset, head.length - this.pendingOffset);
        n += k;
        this.pendingOffset += k;
        this.pendingBytes -= k;
        if (this.pendingOffset === head.length) {
          this.pending.shift();
          this.pendingOffset = 0;
        }
        if (k === 0) break;
      }
      this.stats.rxBytes += n;
      q.pushUsed(chain.head, n);
      pushed = true;
    }
    if (pushed) ctx.signalUsed(L.CONSOLE_RECEIVEQ);
    if (this.pendingBytes <= INPUT_HIGH_WATER && this.input?.isPaused()) this.input.resume();
  }
}

const retryWait = new Int32Array(new SharedArrayBuffer(4));

/** Write all of `data` to `fd`, waiting out EAGAIN (a non-blocking terminal); other errors throw. */
function writeAllSync(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(fd, data, off, data.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(retryWait, 0, 0, 1);
    }
  }
}
