// Checking a MemoryLayout before any memory is mapped: page-aligned, non-empty, non-overlapping
// ranges below 2^52 (x86_64 MAXPHYADDR at most 52 bits, Intel SDM Vol. 3A §4.1.4).
import { VmmError } from '../errors';
import type { MemoryLayout } from '../types';

export const PAGE_SIZE = 4096;
const MAX_GPA = 2 ** 52;

export class MemoryLayoutError extends VmmError {
  constructor(message: string) {
    super('EMEMLAYOUT', message);
  }
}

export interface CheckedRange {
  gpa: number;
  size: number;
  /** Byte offset of this range in the one host mapping that backs all of them. */
  hostOffset: number;
}

/** The ranges sorted by address, each with its offset in the backing mapping. */
export function checkLayout(layout: MemoryLayout): CheckedRange[] {
  if (layout.ranges.length === 0)
    throw new MemoryLayoutError('the memory layout has no ranges: give at least one');
  const sorted = [...layout.ranges].sort((a, b) => a.gpa - b.gpa);
  const out: CheckedRange[] = [];
  let hostOffset = 0;
  let end = 0;
  for (const { gpa, size } of sorted) {
    const name = `0x${gpa.toString(16)}+0x${size.toString(16)}`;
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(size) || gpa < 0 || size <= 0) {
      throw new MemoryLayoutError(`memory range ${name} is not a positive size at a non-negative address`);
    }
    if (gpa % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) {
      throw new MemoryLayoutError(`memory range ${name} is not aligned to ${PAGE_SIZE} bytes: align it`);
    }
    if (gpa + size > MAX_GPA) throw new MemoryLayoutError(`memory range ${name} ends above 2^52`);
    if (gpa < end) throw new MemoryLayoutError(`memory range ${name} overlaps the range before it`);
    out.push({ gpa, size, hostOffset });
    hostOffset += size;
    end = gpa + size;
  }
  return out;
}
