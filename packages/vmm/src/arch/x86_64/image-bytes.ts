// Bounds-checked little-endian reads from a kernel file held in host memory. A read outside the
// file throws KernelImageError naming what was being read, never a RangeError.
import { KernelImageError } from './errors';

export class ImageBytes {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    /** What the file is, for messages: "ELF kernel", "bzImage". */
    readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Throws unless [offset, offset+len) lies inside the file. */
  check(offset: number, len: number, field: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(len) || offset < 0 || len < 0) {
      throw new KernelImageError(
        `${this.what}: ${field} has an impossible offset or size (${offset}+${len})`,
      );
    }
    if (offset + len > this.bytes.length) {
      throw new KernelImageError(
        `${this.what}: ${field} (bytes ${offset}..${offset + len}) lies outside the ${this.bytes.length}-byte ` +
          'file: the file is truncated or corrupt',
      );
    }
  }

  u8(offset: number, field: string): number {
    this.check(offset, 1, field);
    return this.view.getUint8(offset);
  }

  u16(offset: number, field: string): number {
    this.check(offset, 2, field);
    return this.view.getUint16(offset, true);
  }

  u32(offset: number, field: string): number {
    this.check(offset, 4, field);
    return this.view.getUint32(offset, true);
  }

  /** A 64-bit field as a number; throws when it exceeds 2^53 (no address or size we accept does). */
  u64(offset: number, field: string): number {
    this.check(offset, 8, field);
    const value = this.view.getBigUint64(offset, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new KernelImageError(
        `${this.what}: ${field} is 0x${value.toString(16)}, larger than any address we load`,
      );
    }
    return Number(value);
  }

  /** A view of [offset, offset+len) without copying. */
  slice(offset: number, len: number, field: string): Uint8Array {
    this.check(offset, len, field);
    return this.bytes.subarray(offset, offset + len);
  }
}
