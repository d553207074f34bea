// Allocation-free access to guest RAM for the queue walker: one DataView per region, made once.
// Every lookup is bounds-checked; a range must lie wholly inside one region (as GuestMemory.slice).
import type { GuestMemory } from '@vmm/hypervisor';

/** Guest addresses above this are refused (numbers stay exact integers). */
export const MAX_GPA = Number.MAX_SAFE_INTEGER;

export class RegionViews {
  readonly count: number;
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly views: DataView[];
  private readonly bytes: Uint8Array[];
  /** Set by `find`: the byte offset of the found range inside its region. */
  offset = 0;

  constructor(memory: GuestMemory) {
    const regions = memory.regions;
    this.count = regions.length;
    this.starts = new Float64Array(this.count);
    this.ends = new Float64Array(this.count);
    this.views = [];
    this.bytes = [];
    for (let i = 0; i < this.count; i++) {
      const r = regions[i]!;
      this.starts[i] = r.gpa;
      this.ends[i] = r.gpa + r.size;
      this.views.push(new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength));
      this.bytes.push(r.bytes);
    }
  }

  /** The region holding [gpa, gpa+len) wholly, or -1; sets `offset`. `gpa`/`len` must be integers >= 0. */
  find(gpa: number, len: number): number {
    const end = gpa + len;
    for (let i = 0; i < this.count; i++) {
      if (gpa >= this.starts[i]! && end <= this.ends[i]!) {
        this.offset = gpa - this.starts[i]!;
        return i;
      }
    }
    return -1;
  }

  view(region: number): DataView {
    return this.views[region]!;
  }

  bytesOf(region: number): Uint8Array {
    return this.bytes[region]!;
  }
}
