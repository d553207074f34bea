// The PVH boot ABI's start of day structures: struct hvm_start_info (version 1),
// hvm_modlist_entry and hvm_memmap_table_entry, from xen/include/public/arch-x86/hvm/start_info.h
// (Linux's copy: include/xen/interface/hvm/start_info.h). The guest finds hvm_start_info in EBX.
import { VmmError, type GuestMemory } from '@vmm/hypervisor';
import type { E820Entry } from './memory-map';
import {
  PVH_MEMMAP_MAX_ENTRIES,
  PVH_MEMMAP_START,
  PVH_MODLIST_MAX_ENTRIES,
  PVH_MODLIST_START,
  PVH_START_INFO_START,
} from './layout';

export const XEN_HVM_START_MAGIC_VALUE = 0x336ec578;
export const HVM_START_INFO_VERSION = 1;

/** struct hvm_start_info field offsets (56 bytes). */
export const SI_MAGIC = 0; // u32
export const SI_VERSION = 4; // u32
export const SI_FLAGS = 8; // u32
export const SI_NR_MODULES = 12; // u32
export const SI_MODLIST_PADDR = 16; // u64
export const SI_CMDLINE_PADDR = 24; // u64
export const SI_RSDP_PADDR = 32; // u64
export const SI_MEMMAP_PADDR = 40; // u64, version 1
export const SI_MEMMAP_ENTRIES = 48; // u32, version 1
export const SI_RESERVED = 52; // u32, must be zero
export const HVM_START_INFO_SIZE = 56;

/** struct hvm_modlist_entry: paddr, size, cmdline_paddr, reserved (u64 each). */
export const HVM_MODLIST_ENTRY_SIZE = 32;
/** struct hvm_memmap_table_entry: addr u64, size u64, type u32, reserved u32. */
export const HVM_MEMMAP_ENTRY_SIZE = 24;

export interface StartInfoInput {
  cmdlineAddress: number;
  /** 0 or absent: no ACPI. */
  rsdpAddress?: number;
  memmap: readonly E820Entry[];
  /** Modules (the initrd) in order; each has no command line of its own. */
  modules: readonly { address: number; size: number }[];
}

export interface StartInfoPlacement {
  startInfo: number;
  modlist: number;
  memmap: number;
}

/** Write hvm_start_info, its module list and memory map at their layout addresses. */
export function writeStartInfo(memory: GuestMemory, input: StartInfoInput): StartInfoPlacement {
  if (input.modules.length > PVH_MODLIST_MAX_ENTRIES || input.memmap.length > PVH_MEMMAP_MAX_ENTRIES) {
    throw new VmmError('ESTARTINFO', 'too many PVH modules or memory map entries for the start_info area');
  }
  const info = new Uint8Array(HVM_START_INFO_SIZE);
  const v = new DataView(info.buffer);
  v.setUint32(SI_MAGIC, XEN_HVM_START_MAGIC_VALUE, true);
  v.setUint32(SI_VERSION, HVM_START_INFO_VERSION, true);
  v.setUint32(SI_FLAGS, 0, true);
  v.setUint32(SI_NR_MODULES, input.modules.length, true);
  v.setBigUint64(SI_MODLIST_PADDR, input.modules.length > 0 ? BigInt(PVH_MODLIST_START) : 0n, true);
  v.setBigUint64(SI_CMDLINE_PADDR, BigInt(input.cmdlineAddress), true);
  v.setBigUint64(SI_RSDP_PADDR, BigInt(input.rsdpAddress ?? 0), true);
  v.setBigUint64(SI_MEMMAP_PADDR, BigInt(PVH_MEMMAP_START), true);
  v.setUint32(SI_MEMMAP_ENTRIES, input.memmap.length, true);
  memory.write(PVH_START_INFO_START, info);

  const mods = new Uint8Array(input.modules.length * HVM_MODLIST_ENTRY_SIZE);
  const mv = new DataView(mods.buffer);
  input.modules.forEach((m, i) => {
    mv.setBigUint64(i * HVM_MODLIST_ENTRY_SIZE, BigInt(m.address), true);
    mv.setBigUint64(i * HVM_MODLIST_ENTRY_SIZE + 8, BigInt(m.size), true);
  });
  memory.write(PVH_MODLIST_START, mods);

  const map = new Uint8Array(input.memmap.length * HVM_MEMMAP_ENTRY_SIZE);
  const tv = new DataView(map.buffer);
  input.memmap.forEach((e, i) => {
    tv.setBigUint64(i * HVM_MEMMAP_ENTRY_SIZE, BigInt(e.addr), true);
    tv.setBigUint64(i * HVM_MEMMAP_ENTRY_SIZE + 8, BigInt(e.size), true);
    tv.setUint32(i * HVM_MEMMAP_ENTRY_SIZE + 16, e.type, true);
  });
  memory.write(PVH_MEMMAP_START, map);
  return { startInfo: PVH_START_INFO_START, modlist: PVH_MODLIST_START, memmap: PVH_MEMMAP_START };
}
