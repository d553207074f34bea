// Identity page tables for the first 4 GiB with 2 MiB pages (4-level paging: Intel SDM vol. 3A
// §4.5, tables 4-15 PML4E, 4-17 PDPTE, 4-18 PDE mapping a 2 MiB page). 1 GiB pages are avoided:
// software-emulated KVM hosts do not offer pdpe1gb.
import type { GuestMemory } from '@vmm/hypervisor';
import { PAGE_SIZE, PD_COUNT, PD_START, PDPT_START, PML4_START } from './layout';

const PRESENT = 0x1n;
const WRITABLE = 0x2n;
const PAGE_SIZE_2M = 0x80n; // PS: this PDE maps a 2 MiB page
const ENTRIES = 512;
const TWO_MIB = 0x20_0000n;

/** Write PML4, PDPT and PD_COUNT page directories; returns the CR3 value. */
export function writeIdentityPageTables(memory: GuestMemory): bigint {
  memory.slice(PML4_START, PAGE_SIZE)?.fill(0);
  memory.slice(PDPT_START, PAGE_SIZE)?.fill(0);
  memory.writeU64(PML4_START, BigInt(PDPT_START) | PRESENT | WRITABLE);
  for (let d = 0; d < PD_COUNT; d++) {
    const pd = PD_START + d * PAGE_SIZE;
    memory.writeU64(PDPT_START + d * 8, BigInt(pd) | PRESENT | WRITABLE);
    for (let e = 0; e < ENTRIES; e++) {
      const frame = BigInt(d * ENTRIES + e) * TWO_MIB;
      memory.writeU64(pd + e * 8, frame | PRESENT | WRITABLE | PAGE_SIZE_2M);
    }
  }
  return BigInt(PML4_START);
}
