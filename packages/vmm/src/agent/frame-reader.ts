// Reassembles frames (protocol.ts) from the chunks a stream delivers, checking each header as soon
// as its 8 bytes are in. A payload inside one chunk is a view of it, not a copy.
import { protocolError, type AgentOp } from './errors';
import { HEADER_SIZE, decodeHeader } from './protocol';

export interface Frame {
  type: number;
  payload: Buffer;
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private header: { type: number; length: number } | undefined;

  constructor(private readonly op: AgentOp) {}

  /** Bytes held that are not part of a frame taken yet. */
  get buffered(): number {
    return this.length + (this.header ? HEADER_SIZE : 0);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The next whole frame, or null until more bytes come; throws AgentError (AGENT_PROTOCOL). */
  next(): Frame | null {
    if (this.header === undefined) {
      if (this.length < HEADER_SIZE) return null;
      const h = decodeHeader(this.take(HEADER_SIZE));
      if (typeof h === 'string') throw protocolError(this.op, h);
      this.header = h;
    }
    if (this.length < this.header.length) return null;
    const frame = { type: this.header.type, payload: this.take(this.header.length) };
    this.header = undefined;
    return frame;
  }

  /** Everything buffered past the last frame taken (raw bytes after CONNECT's OK), removed from here. */
  rest(): Buffer {
    if (this.header !== undefined) throw new Error('FrameReader.rest() inside a frame');
    return this.take(this.length);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (n === 0 || first === undefined) return Buffer.alloc(0);
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.length -= n;
    return out;
  }
}
