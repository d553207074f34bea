// Test-only GuestMemory over ArrayBuffers, one per range of a MemoryLayout (same contract as the
// KVM backend's: bounds-checked, views without copying, GuestMemoryError when out of bounds).
import { GuestMemoryError, type GuestMemory, type GuestRegion, type MemoryLayout } from '@vmm/hypervisor';

export class ArrayGuestMemory implements GuestMemory {
  readonly regions: GuestRegion[];
  readonly totalSize: number;
  private readonly views: DataView[];

  constructor(layout: MemoryLayout) {
    this.regions = layout.ranges.map((r) => ({ gpa: r.gpa, size: r.size, bytes: new Uint8Array(r.size) }));
    this.views = this.regions.map((r) => new DataView(r.bytes.buffer));
    this.totalSize = this.regions.reduce((n, r) => n + r.size, 0);
  }

  private find(gpa: number, len: number): number {
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(len) || gpa < 0 || len < 0) return -1;
    return this.regions.findIndex((r) => gpa >= r.gpa && gpa + len <= r.gpa + r.size);
  }

  private at(gpa: number, len: number): { view: DataView; off: number } {
    const i = this.find(gpa, len);
    const region = this.regions[i];
    const view = this.views[i];
    if (!region || !view) throw new GuestMemoryError(gpa, len);
    return { view, off: gpa - region.gpa };
  }

  contains(gpa: number, len: number): boolean {
    return this.find(gpa, len) >= 0;
  }

  slice(gpa: number, len: number): Uint8Array | undefined {
    const region = this.regions[this.find(gpa, len)];
    return region ? region.bytes.subarray(gpa - region.gpa, gpa - region.gpa + len) : undefined;
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
    const target = this.slice(gpa, data.length);
    if (!target) throw new GuestMemoryError(gpa, data.length);
    target.set(data);
  }
}
