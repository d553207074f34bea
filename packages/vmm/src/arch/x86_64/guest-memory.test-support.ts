// Test-only guest RAM for a MemoryLayout: @vmm/hypervisor's ArrayGuestMemory over its ranges.
import { ArrayGuestMemory as RangesMemory, type MemoryLayout } from '@vmm/hypervisor';

export class ArrayGuestMemory extends RangesMemory {
  constructor(layout: MemoryLayout) {
    super(layout.ranges);
  }
}
