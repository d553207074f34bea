// Guest memory that checks every access against a layout but keeps nothing: loading a kernel into
// it finds every error a real load would (format, fit, initrd, command line) before a VM or
// /dev/kvm is touched, at no cost in RAM.
import { GuestMemoryError, type GuestMemory, type GuestRegion, type MemoryLayout } from '@vmm/hypervisor';

export class DryRunMemory implements GuestMemory {
  readonly regions: readonly GuestRegion[];
  readonly totalSize: number;
  private scratch = new Uint8Array(4096);

  constructor(layout: MemoryLayout) {
    this.regions = layout.ranges.map((r) => ({ gpa: r.gpa, size: r.size, bytes: new Uint8Array(0) }));
    this.totalSize = layout.ranges.reduce((n, r) => n + r.size, 0);
  }

  contains(gpa: number, len: number): boolean {
    return (
      Number.isSafeInteger(gpa) &&
      Number.isSafeInteger(len) &&
      gpa >= 0 &&
      len >= 0 &&
      this.regions.some((r) => gpa >= r.gpa && gpa + len <= r.gpa + r.size)
    );
  }

  slice(gpa: number, len: number): Uint8Array | undefined {
    if (!this.contains(gpa, len)) return undefined;
    if (this.scratch.length < len) this.scratch = new Uint8Array(len);
    return this.scratch.subarray(0, len).fill(0);
  }

  private check(gpa: number, len: number): void {
    if (!this.contains(gpa, len)) throw new GuestMemoryError(gpa, len);
  }

  readU8(gpa: number): number {
    this.check(gpa, 1);
    return 0;
  }
  readU16(gpa: number): number {
    this.check(gpa, 2);
    return 0;
  }
  readU32(gpa: number): number {
    this.check(gpa, 4);
    return 0;
  }
  readU64(gpa: number): bigint {
    this.check(gpa, 8);
    return 0n;
  }
  writeU8(gpa: number): void {
    this.check(gpa, 1);
  }
  writeU16(gpa: number): void {
    this.check(gpa, 2);
  }
  writeU32(gpa: number): void {
    this.check(gpa, 4);
  }
  writeU64(gpa: number): void {
    this.check(gpa, 8);
  }
  write(gpa: number, data: Uint8Array): void {
    this.check(gpa, data.length);
  }
}
