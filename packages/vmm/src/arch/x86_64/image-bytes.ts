// Bounds-checked little-endian reads from a kernel file, in memory or read on demand (a window
// of the file at a time: headers and notes are a few small reads). A read outside the file
// throws KernelImageError naming what was being read, never a RangeError.
import { KernelImageError } from './errors';
import type { KernelInput } from './kernel-source';

/** Bytes read from a file source at a time, around what is asked. */
const WINDOW = 64 * 1024;

export class ImageBytes {
  private view: DataView;
  /** Where `view` starts in the file. */
  private base = 0;
  readonly length: number;

  constructor(
    private readonly input: KernelInput,
    /** What the file is, for messages: "ELF kernel", "bzImage". */
    readonly what: string,
  ) {
    this.length = input.length;
    this.view =
      input instanceof Uint8Array
        ? new DataView(input.buffer, input.byteOffset, input.byteLength)
        : new DataView(new ArrayBuffer(0));
  }

  /** A view holding [offset, offset+len), and where in it offset is. */
  private at(offset: number, len: number): number {
    if (offset >= this.base && offset + len <= this.base + this.view.byteLength) return offset - this.base;
    const source = this.input;
    if (source instanceof Uint8Array) return offset; // checked against the whole file already
    const start = Math.max(0, offset - (offset % 4096));
    const window = new Uint8Array(Math.min(Math.max(WINDOW, offset + len - start), this.length - start));
    source.readInto(window, start);
    this.view = new DataView(window.buffer);
    this.base = start;
    return offset - start;
  }

  /** Throws unless [offset, offset+len) lies inside the file. */
  check(offset: number, len: number, field: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(len) || offset < 0 || len < 0) {
      throw new KernelImageError(
        `${this.what}: ${field} has an impossible offset or size (${offset}+${len})`,
      );
    }
    if (offset + len > this.length) {
      throw new KernelImageError(
        `${this.what}: ${field} (bytes ${offset}..${offset + len}) lies outside the ${this.length}-byte ` +
          'file: the file is truncated or corrupt',
      );
    }
  }

  u8(offset: number, field: string): number {
    this.check(offset, 1, field);
    const at = this.at(offset, 1); // before this.view: it may move the window
    return this.view.getUint8(at);
  }

  u16(offset: number, field: string): number {
    this.check(offset, 2, field);
    const at = this.at(offset, 2); // before this.view: it may move the window
    return this.view.getUint16(at, true);
  }

  u32(offset: number, field: string): number {
    this.check(offset, 4, field);
    const at = this.at(offset, 4); // before this.view: it may move the window
    return this.view.getUint32(at, true);
  }

  /** A 64-bit field as a number; throws when it exceeds 2^53 (no address or size we accept does). */
  u64(offset: number, field: string): number {
    this.check(offset, 8, field);
    const at = this.at(offset, 8);
    const value = this.view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new KernelImageError(
        `${this.what}: ${field} is 0x${value.toString(16)}, larger than any address we load`,
      );
    }
    return Number(value);
  }

  /** [offset, offset+len): a view of the bytes given, or a copy read from the file. */
  slice(offset: number, len: number, field: string): Uint8Array {
    this.check(offset, len, field);
    if (this.input instanceof Uint8Array) return this.input.subarray(offset, offset + len);
    const out = new Uint8Array(len);
    this.input.readInto(out, offset);
    return out;
  }
}
