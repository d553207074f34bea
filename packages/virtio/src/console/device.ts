// virtio-console, port 0 only (hvc0): virtio 1.2 §5.3. What the guest transmits goes to an
// output (a writable stream or a file descriptor); what the input stream yields is delivered into
// the guest's receive buffers, held (bounded, with the stream paused) while it has none posted.
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { DeviceContext, VirtioDevice } from '../device';
import { TRANSPORT_FEATURES } from '../features';
import { DescriptorChain } from '../queue/chain';
import { DEVICE_ID_CONSOLE } from '../status';
import * as L from './layout';

export interface ConsoleOutput {
  write(chunk: Uint8Array): unknown;
}

export interface ConsoleDeviceOptions {
  /** Where hvc0 output goes: a stream-like sink, a file descriptor, or nowhere. */
  output?: ConsoleOutput | number;
  /** Where hvc0 input comes from. */
  input?: Readable;
  /** QueueNumMax of both queues (default 64). */
  queueSize?: number;
}

/** Input bytes held while the guest has no receive buffer; the input is paused above this. */
const INPUT_HIGH_WATER = 64 * 1024;

export class ConsoleDevice implements VirtioDevice {
  readonly deviceId = DEVICE_ID_CONSOLE;
  readonly features = TRANSPORT_FEATURES;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = L.CONFIG_SIZE;

  private ctx: DeviceContext | undefined;
  private rxChain: DescriptorChain | undefined;
  private txChain: DescriptorChain | undefined;
  private readonly output: ConsoleOutput | number | undefined;
  private readonly input: Readable | undefined;
  private readonly pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Bytes of pending[0] already delivered. */
  private pendingOffset = 0;
  private readonly onData = (chunk: Buffer | string): void => this.receive(chunk);

  constructor(options: ConsoleDeviceOptions = {}) {
    const qs = options.queueSize ?? 64;
    this.queueMaxSizes = [qs, qs];
    this.output = options.output;
    this.input = options.input;
    this.input?.on('data', this.onData);
  }

  readConfig(_offset: number, data: Uint8Array): void {
    // cols, rows, max_nr_ports and emerg_wr are only meaningful with features we do not offer: zeros.
    data.fill(0);
  }

  writeConfig(): void {}

  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.rxChain ??= new DescriptorChain(this.queueMaxSizes[0]!, ctx.views);
    this.txChain ??= new DescriptorChain(this.queueMaxSizes[1]!, ctx.views);
    this.transmit();
    this.deliver();
  }

  queueNotify(index: number): void {
    if (index === L.CONSOLE_TRANSMITQ) this.transmit();
    else if (index === L.CONSOLE_RECEIVEQ) this.deliver();
  }

  reset(): void {
    this.ctx = undefined;
  }

  /** Stop listening to the input. */
  close(): void {
    this.input?.off('data', this.onData);
    this.ctx = undefined;
  }

  private transmit(): void {
    const ctx = this.ctx;
    const chain = this.txChain;
    if (!ctx || !chain) return;
    const q = ctx.queues[L.CONSOLE_TRANSMITQ]!;
    do {
      for (;;) {
        const r = q.pop(chain);
        if (r === 'broken') return ctx.needsReset();
        if (r === 'empty') break;
        if (chain.readableBytes > 0 && this.output !== undefined) {
          // The guest may reuse its buffer once it is used: the sink gets its own copy.
          const copy = Buffer.allocUnsafe(chain.readableBytes);
          chain.read(0, copy, 0, copy.length);
          if (typeof this.output === 'number') writeAllSync(this.output, copy);
          else this.output.write(copy);
        }
        q.pushUsed(chain.head, 0);
      }
      ctx.signalUsed(L.CONSOLE_TRANSMITQ);
    } while (q.enableNotification());
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
    while (this.pendingBytes > 0) {
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
      q.pushUsed(chain.head, n);
      pushed = true;
    }
    if (pushed) ctx.signalUsed(L.CONSOLE_RECEIVEQ);
    if (this.pendingBytes <= INPUT_HIGH_WATER && this.input?.isPaused()) this.input.resume();
  }
}

function writeAllSync(fd: number, data: Uint8Array): void {
  let off = 0;
  try {
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
  } catch {
    // A closed or full output loses console text; the guest is never stopped for it.
  }
}
