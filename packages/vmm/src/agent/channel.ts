// One operation's stream to the agent, seen as frames: send() respects the stream's backpressure
// (it waits for 'drain'), next() pulls frames only when asked, so a consumer that is slow to take
// them (a file being written) holds the agent back instead of filling memory here.
import type { Duplex } from 'node:stream';
import { disconnected, protocolError, unreachable, type AgentOp } from './errors';
import { FrameReader, type Frame } from './frame-reader';
import { encodeHeader } from './protocol';

/** Payloads up to this size go out in one write with their header. */
const COALESCE = 4096;

export class FrameChannel {
  private readonly reader: FrameReader;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly onReadable = (): void => this.poke();
  private readonly onEnd = (): void => {
    this.ended = true;
    this.poke();
  };
  private readonly onError = (e: Error): void => {
    this.failure ??= disconnected(this.op, e);
    this.poke();
  };

  constructor(
    private readonly stream: Duplex,
    private readonly op: AgentOp,
  ) {
    this.reader = new FrameReader(op);
    stream.on('readable', this.onReadable);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onError);
  }

  /** A channel on a new stream from `open`; AGENT_UNREACHABLE if there is none. */
  static async open(open: () => Promise<Duplex>, op: AgentOp): Promise<FrameChannel> {
    let stream: Duplex;
    try {
      stream = await open();
    } catch (e) {
      throw unreachable(op, e);
    }
    return new FrameChannel(stream, op);
  }

  async send(type: number, payload: Uint8Array = EMPTY): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.stream.destroyed || this.stream.writableEnded) throw disconnected(this.op);
    const header = encodeHeader(type, payload.length);
    let ok: boolean;
    if (payload.length <= COALESCE) {
      ok = this.stream.write(Buffer.concat([header, payload]));
    } else {
      this.stream.cork();
      this.stream.write(header);
      ok = this.stream.write(payload);
      this.stream.uncork();
    }
    if (!ok) await this.drained();
  }

  /** The next frame; AGENT_DISCONNECTED if the stream ends first, AGENT_PROTOCOL if it is malformed. */
  async next(): Promise<Frame> {
    for (;;) {
      const frame = this.reader.next();
      if (frame) return frame;
      if (this.failure) throw this.failure;
      const chunk = this.stream.read() as Buffer | null;
      if (chunk !== null) {
        this.reader.push(chunk);
        continue;
      }
      if (this.ended) {
        throw this.reader.buffered
          ? protocolError(this.op, 'the stream ended inside a frame')
          : disconnected(this.op);
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Hands the stream over for raw bytes (after CONNECT's OK): bytes already read go back in front. */
  release(): Duplex {
    this.detach();
    const rest = this.reader.rest();
    if (rest.length > 0) this.stream.unshift(rest);
    return this.stream;
  }

  /** Ends the operation: any waiting next() or send() fails with `error` (or AGENT_DISCONNECTED). */
  destroy(error?: Error): void {
    if (error) this.failure ??= error;
    this.stream.destroy();
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private detach(): void {
    this.stream.off('readable', this.onReadable);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onError);
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        if (this.failure || this.stream.destroyed) reject(this.failure ?? disconnected(this.op));
        else resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
    });
  }
}

const EMPTY = new Uint8Array(0);
