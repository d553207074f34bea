// The boot GDT: flat segments for both entry kinds. Descriptor format: Intel SDM vol. 3A §3.4.5
// "Segment Descriptors". Selectors follow Documentation/arch/x86/boot.rst ("64-bit Boot
// Protocol": __BOOT_CS 0x10, __BOOT_DS 0x18); the PVH ABI (Xen docs/misc/pvh.pandoc) wants a flat
// 32-bit code segment, which sits at 0x08.
import { VmmError, type GuestMemory, type X86DescriptorTable, type X86Segment } from '@vmm/hypervisor';
import { GDT_START } from './layout';

/** Descriptor flags word: bits 0-7 = access byte (P, DPL, S, type), bits 12-15 = G, D/B, L, AVL. */
const FLAGS_CODE32 = 0xc09b; // G, D=1, P, S, type 0xb (execute/read, accessed)
const FLAGS_CODE64 = 0xa09b; // G, L=1, P, S, type 0xb
const FLAGS_DATA = 0xc093; // G, B=1, P, S, type 0x3 (read/write, accessed)
const FLAGS_TSS = 0x008b; // P, type 0xb (busy 32/64-bit TSS)

export const BOOT_CS32_SELECTOR = 0x08;
export const BOOT_CS64_SELECTOR = 0x10;
export const BOOT_DS_SELECTOR = 0x18;
export const BOOT_TSS_SELECTOR = 0x20;

/** Encode a segment descriptor from flags, base and a 20-bit limit. */
export function gdtEntry(flags: number, base: number, limit: number): bigint {
  const b = BigInt(base >>> 0);
  const l = BigInt(limit & 0xfffff);
  const f = BigInt(flags & 0xf0ff);
  return (
    ((b & 0xff000000n) << 32n) |
    (f << 40n) |
    ((l & 0xf0000n) << 32n) |
    ((b & 0x00ffffffn) << 16n) |
    (l & 0xffffn)
  );
}

/** The boot GDT: null, code32, code64, data, TSS (selectors 0x00..0x20). */
export const BOOT_GDT: readonly bigint[] = [
  0n,
  gdtEntry(FLAGS_CODE32, 0, 0xfffff),
  gdtEntry(FLAGS_CODE64, 0, 0xfffff),
  gdtEntry(FLAGS_DATA, 0, 0xfffff),
  gdtEntry(FLAGS_TSS, 0, 0x67),
];

/** The segment-register state (KVM's struct kvm_segment) that loading `selector` from BOOT_GDT gives. */
export function segmentFromGdt(selector: number): X86Segment {
  const entry = BOOT_GDT[selector >> 3];
  if (entry === undefined) {
    throw new VmmError('EGDT', `selector 0x${selector.toString(16)} is not in the boot GDT`);
  }
  const bits = (shift: bigint, mask: bigint) => Number((entry >> shift) & mask);
  const g = bits(55n, 1n);
  const rawLimit = bits(0n, 0xffffn) | (bits(48n, 0xfn) << 16);
  const present = bits(47n, 1n);
  return {
    base: BigInt(bits(16n, 0xffffffn) | (bits(56n, 0xffn) << 24)),
    limit: g ? rawLimit * 0x1000 + 0xfff : rawLimit,
    selector,
    type: bits(40n, 0xfn),
    present,
    dpl: bits(45n, 3n),
    db: bits(54n, 1n),
    s: bits(44n, 1n),
    l: bits(53n, 1n),
    g,
    avl: bits(52n, 1n),
    unusable: present ? 0 : 1,
  };
}

/** Write the GDT at GDT_START; returns the GDTR value. */
export function writeGdt(memory: GuestMemory): X86DescriptorTable {
  BOOT_GDT.forEach((entry, i) => memory.writeU64(GDT_START + i * 8, entry));
  return { base: BigInt(GDT_START), limit: BOOT_GDT.length * 8 - 1 };
}
