// A GuestMemory over plain ArrayBuffers: the model tests' guest RAM (every package's), and a
// reference for the trait's bounds rules (a range must lie wholly inside one region).
import { GuestMemoryError } from '../errors';
import type { GuestMemory, GuestRegion } from '../types';

export class ArrayGuestMemory implements GuestMemory {
  readonly regions: readonly GuestRegion[];
  readonly totalSize: number;
  private readonly views: DataView[];

  /** `ranges`: guest-physical ranges to back, each with fresh zeroed memory. */
  constructor(ranges: readonly { gpa: number; size: number }[]) {
    this.regions = ranges.map((r) => ({ gpa: r.gpa, size: r.size, bytes: new Uint8Array(r.size) }));
    this.views = this.regions.map(
      (r) => new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength),
    );
    this.totalSize = ranges.reduce((n, r) => n + r.size, 0);
  }

  private find(gpa: number, len: number): number {
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(len) || gpa < 0 || len < 0) return -1;
    for (let i = 0; i < this.regions.length; i++) {
      const r = this.regions[i]!;
      if (gpa >= r.gpa && gpa + len <= r.gpa + r.size) return i;
    }
    return -1;
  }

  private at(gpa: number, len: number): { view: DataView; off: number } {
    const i = this.find(gpa, len);
    if (i < 0) throw new GuestMemoryError(gpa, len);
    return { view: this.views[i]!, off: gpa - this.regions[i]!.gpa };
  }

  slice(gpa: number, len: number): Uint8Array | undefined {
    const i = this.find(gpa, len);
    if (i < 0) return undefined;
    const off = gpa - this.regions[i]!.gpa;
    return this.regions[i]!.bytes.subarray(off, off + len);
  }

  contains(gpa: number, len: number): boolean {
    return this.find(gpa, len) >= 0;
  }

  readU8(gpa: number): number {
    const { view, off } = this.at(gpa, 1);
    return view.getUint8(off);
  }
  readU16(gpa: number): number {
    const { view, off } = this.at(gpa, 2);
    return view.getUint16(off, true);
  }
  readU32(gpa: number): number {
    const { view, off } = this.at(gpa, 4);
    return view.getUint32(off, true);
  }
  readU64(gpa: number): bigint {
    const { view, off } = this.at(gpa, 8);
    return view.getBigUint64(off, true);
  }
  writeU8(gpa: number, value: number): void {
    const { view, off } = this.at(gpa, 1);
    view.setUint8(off, value);
  }
  writeU16(gpa: number, value: number): void {
    const { view, off } = this.at(gpa, 2);
    view.setUint16(off, value, true);
  }
  writeU32(gpa: number, value: number): void {
    const { view, off } = this.at(gpa, 4);
    view.setUint32(off, value, true);
  }
  writeU64(gpa: number, value: bigint): void {
    const { view, off } = this.at(gpa, 8);
    view.setBigUint64(off, value, true);
  }
  write(gpa: number, data: Uint8Array): void {
    const i = this.find(gpa, data.length);
    if (i < 0) throw new GuestMemoryError(gpa, data.length);
    this.regions[i]!.bytes.set(data, gpa - this.regions[i]!.gpa);
  }
}
