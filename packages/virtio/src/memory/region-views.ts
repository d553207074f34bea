// Allocation-free access to guest RAM for the queue walker: one DataView per region, made at its
// first use (a region's view is made when first touched: see MappedGuestMemory). Every lookup is
// bounds-checked; a range must lie wholly inside one region (as GuestMemory.slice).
import type { GuestMemory } from '@vmm/hypervisor';

/** Guest addresses above this are refused (numbers stay exact integers). */
export const MAX_GPA = Number.MAX_SAFE_INTEGER;

export class RegionViews {
  readonly count: number;
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly regions: GuestMemory['regions'];
  private readonly views: (DataView | undefined)[];
  private readonly bytes: (Uint8Array | undefined)[];
  /** Set by `find`: the byte offset of the found range inside its region. */
  offset = 0;

  constructor(memory: GuestMemory) {
    const regions = memory.regions;
    this.regions = regions;
    this.count = regions.length;
    this.starts = new Float64Array(this.count);
    this.ends = new Float64Array(this.count);
    this.views = new Array<DataView | undefined>(this.count).fill(undefined);
    this.bytes = new Array<Uint8Array | undefined>(this.count).fill(undefined);
    for (let i = 0; i < this.count; i++) {
      const r = regions[i]!;
      this.starts[i] = r.gpa;
      this.ends[i] = r.gpa + r.size;
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
    return this.views[region] ?? this.make(region).view;
  }

  bytesOf(region: number): Uint8Array {
    return this.bytes[region] ?? this.make(region).bytes;
  }

  private make(region: number): { view: DataView; bytes: Uint8Array } {
    const bytes = this.regions[region]!.bytes;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.bytes[region] = bytes;
    this.views[region] = view;
    return { view, bytes };
  }
}
