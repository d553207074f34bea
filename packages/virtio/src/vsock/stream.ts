// The host's face of one vsock connection: a Node Duplex whose reads, writes, end() and destroy()
// go to its VsockConnection (connection.ts), which turns them into packets for the guest.
import { Duplex } from 'node:stream';
import type { VsockConnection } from './connection';

type Callback = (error?: Error | null) => void;

export class VsockStream extends Duplex {
  readonly #conn: VsockConnection;

  constructor(conn: VsockConnection, readableHighWaterMark: number, writableHighWaterMark: number) {
    super({ allowHalfOpen: true, decodeStrings: true, readableHighWaterMark, writableHighWaterMark });
    this.#conn = conn;
  }

  /** The guest's port of this connection. */
  get guestPort(): number {
    return this.#conn.guestPort;
  }

  /** The host's port of this connection (a listener's port, or an ephemeral one for connect()). */
  get hostPort(): number {
    return this.#conn.hostPort;
  }

  override _read(): void {
    this.#conn.onConsumed();
  }

  /**
   * Every way of consuming a Readable (read(), 'data' in flowing mode, pipe, async iteration) goes
   * through read(): after it, the reader may have freed buffer space the guest should hear about.
   * (_read alone is not enough: Node calls it before taking the data out, and not again until the
   * next push.)
   */
  override read(size?: number): ReturnType<Duplex['read']> {
    const chunk: unknown = super.read(size);
    this.#conn.onConsumed();
    return chunk;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.#conn.onWrite([chunk], callback);
  }

  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: Callback): void {
    this.#conn.onWrite(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  override _final(callback: Callback): void {
    this.#conn.onFinal(callback);
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.#conn.onDestroy();
    callback(error);
  }
}
