// struct kvm_cpuid2 + struct kvm_cpuid_entry2 (arch/x86/include/uapi/asm/kvm.h): a header
// { nent, padding } followed by nent 40-byte entries.
import type { CpuidEntry } from '../../types';
import type { StructLayout } from './layout';

export const CPUID2_HEADER_SIZE = 8;
export const CPUID2_LAYOUT: StructLayout = {
  cName: 'struct kvm_cpuid2',
  size: CPUID2_HEADER_SIZE,
  fields: { nent: 0, entries: 8 },
};

export const CPUID_ENTRY2_SIZE = 40;
export const CPUID_ENTRY2_LAYOUT: StructLayout = {
  cName: 'struct kvm_cpuid_entry2',
  size: CPUID_ENTRY2_SIZE,
  fields: { function: 0, index: 4, flags: 8, eax: 12, ebx: 16, ecx: 20, edx: 24 },
};

/** A buffer for a kvm_cpuid2 with room for `capacity` entries, nent set to capacity. */
export function allocCpuid2(capacity: number): Uint8Array {
  const buf = new Uint8Array(CPUID2_HEADER_SIZE + capacity * CPUID_ENTRY2_SIZE);
  new DataView(buf.buffer).setUint32(0, capacity, true);
  return buf;
}

export function readCpuid2(buf: Uint8Array): CpuidEntry[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const nent = v.getUint32(0, true);
  const max = Math.floor((buf.byteLength - CPUID2_HEADER_SIZE) / CPUID_ENTRY2_SIZE);
  const out: CpuidEntry[] = [];
  for (let i = 0; i < Math.min(nent, max); i++) {
    const at = CPUID2_HEADER_SIZE + i * CPUID_ENTRY2_SIZE;
    out.push({
      function: v.getUint32(at, true),
      index: v.getUint32(at + 4, true),
      flags: v.getUint32(at + 8, true),
      eax: v.getUint32(at + 12, true),
      ebx: v.getUint32(at + 16, true),
      ecx: v.getUint32(at + 20, true),
      edx: v.getUint32(at + 24, true),
    });
  }
  return out;
}

export function encodeCpuid2(entries: readonly CpuidEntry[]): Uint8Array {
  const buf = allocCpuid2(entries.length);
  const v = new DataView(buf.buffer);
  entries.forEach((e, i) => {
    const at = CPUID2_HEADER_SIZE + i * CPUID_ENTRY2_SIZE;
    v.setUint32(at, e.function >>> 0, true);
    v.setUint32(at + 4, e.index >>> 0, true);
    v.setUint32(at + 8, e.flags >>> 0, true);
    v.setUint32(at + 12, e.eax >>> 0, true);
    v.setUint32(at + 16, e.ebx >>> 0, true);
    v.setUint32(at + 20, e.ecx >>> 0, true);
    v.setUint32(at + 24, e.edx >>> 0, true);
  });
  return buf;
}
