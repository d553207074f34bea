import type { CpuidEntry } from '@vmm/hypervisor';
import { describe, expect, it } from 'vitest';
import { vcpuCpuid } from './cpuid';

function vendorRegs(vendor: string): { ebx: number; edx: number; ecx: number } {
  const v = new DataView(new TextEncoder().encode(vendor).buffer);
  return { ebx: v.getUint32(0, true), edx: v.getUint32(4, true), ecx: v.getUint32(8, true) };
}

const leaf = (fn: number, index: number, regs: Partial<CpuidEntry>, flags = 0): CpuidEntry => ({
  function: fn,
  index,
  flags,
  eax: 0,
  ebx: 0,
  ecx: 0,
  edx: 0,
  ...regs,
});

/** Shaped like KVM_GET_SUPPORTED_CPUID on an Intel host (values from a Xeon, trimmed). */
const INTEL: CpuidEntry[] = [
  leaf(0x0, 0, { eax: 0x1f, ...vendorRegs('GenuineIntel') }),
  leaf(0x1, 0, { eax: 0x806f8, ebx: 0x00000800, ecx: 0xf7fa3223, edx: 0x0f8bfbff }),
  leaf(0x4, 0, { eax: 0x121 }, 1), // L1d
  leaf(0x4, 1, { eax: 0x122 }, 1), // L1i
  leaf(0x4, 2, { eax: 0x143 }, 1), // L2
  leaf(0x4, 3, { eax: 0x163 }, 1), // L3
  leaf(0x4, 4, { eax: 0 }, 1),
  leaf(0xb, 0, { eax: 1, ebx: 2, ecx: 0x100, edx: 7 }, 1),
  leaf(0xb, 1, { eax: 7, ebx: 64, ecx: 0x201, edx: 7 }, 1),
  leaf(0x1f, 0, { eax: 1, ebx: 2, ecx: 0x100, edx: 7 }, 1),
  leaf(0x4000_0000, 0, { eax: 0x4000_0001, ebx: 0x4b4d564b, ecx: 0x564b4d56, edx: 0x4d }),
  leaf(0x4000_0001, 0, { eax: 0x01007afb }),
  leaf(0x8000_0008, 0, { eax: 0x3030, ecx: 0 }),
];

const find = (entries: CpuidEntry[], fn: number, index = 0) =>
  entries.find((e) => e.function === fn && e.index === index)!;

describe('per-vCPU CPUID', () => {
  it('leaf 1: APIC id in EBX[31:24], logical count in [23:16], hypervisor bit, HTT with >1 vCPU', () => {
    for (const id of [0, 1, 3]) {
      const e = find(vcpuCpuid(INTEL, id, 4), 1);
      expect(e.ebx >>> 24).toBe(id);
      expect((e.ebx >>> 16) & 0xff).toBe(4);
      expect(e.ebx & 0xffff).toBe(0x0800); // CLFLUSH line size kept
      expect(e.ecx >>> 31).toBe(1);
      expect((e.edx >>> 28) & 1).toBe(1);
    }
    expect((find(vcpuCpuid(INTEL, 0, 1), 1).edx >>> 28) & 1).toBe(0);
  });

  it('leaves 0xB and 0x1F: x2APIC id in EDX; SMT level of 1 thread, core level of N cores', () => {
    for (const fn of [0xb, 0x1f]) {
      const table = vcpuCpuid(INTEL, 2, 3).filter((e) => e.function === fn);
      expect(table).toEqual([
        { function: fn, index: 0, flags: 1, eax: 0, ebx: 1, ecx: 0x100, edx: 2 },
        { function: fn, index: 1, flags: 1, eax: 2, ebx: 3, ecx: 0x201, edx: 2 },
        { function: fn, index: 2, flags: 1, eax: 0, ebx: 0, ecx: 2, edx: 2 },
      ]);
    }
    expect(find(vcpuCpuid(INTEL, 0, 1), 0xb, 1).eax).toBe(0);
    expect(find(vcpuCpuid(INTEL, 5, 8), 0xb, 1).eax).toBe(3);
  });

  it('leaf 4: cores per package in EAX[31:26]; L1/L2 private, L3 shared by all', () => {
    const t = vcpuCpuid(INTEL, 0, 4);
    for (const i of [0, 1, 2]) {
      expect(find(t, 4, i).eax >>> 26).toBe(3);
      expect((find(t, 4, i).eax >>> 14) & 0xfff).toBe(0);
    }
    expect((find(t, 4, 3).eax >>> 14) & 0xfff).toBe(3);
    expect(find(t, 4, 3).eax & 0x3fff).toBe(0x163);
    expect(find(t, 4, 4).eax).toBe(0);
  });

  it("keeps KVM's signature leaves and does not touch the input", () => {
    const before = structuredClone(INTEL);
    const t = vcpuCpuid(INTEL, 1, 2);
    expect(find(t, 0x4000_0000)).toEqual(find(INTEL, 0x4000_0000));
    expect(find(t, 0x4000_0001)).toEqual(find(INTEL, 0x4000_0001));
    expect(INTEL).toEqual(before);
    expect(find(t, 0x8000_0008).ecx).toBe(0); // Intel: AMD's NC field left alone
  });

  it('AMD: Fn8000_0008 ECX NC = cores - 1, ApicIdSize', () => {
    const amd = [
      leaf(0, 0, { eax: 0x10, ...vendorRegs('AuthenticAMD') }),
      leaf(0x8000_0008, 0, { ecx: 0x7007 }),
    ];
    expect(find(vcpuCpuid(amd, 0, 6), 0x8000_0008).ecx).toBe((3 << 12) | 5);
  });

  it('hides VMX and SVM (and the SVM feature leaf) unless nested virtualization is asked for', () => {
    // The INTEL table's leaf 1 ECX (0xf7fa3223) has VMX, bit 5.
    expect((find(vcpuCpuid(INTEL, 0, 1), 1).ecx >>> 5) & 1).toBe(0);
    expect((find(vcpuCpuid(INTEL, 0, 1, true), 1).ecx >>> 5) & 1).toBe(1);
    expect(find(vcpuCpuid(INTEL, 0, 1), 1).ecx & ~(1 << 5)).toBe((0xf7fa3223 | (1 << 31)) & ~(1 << 5));
    const amd = [
      leaf(0, 0, { eax: 0x10, ...vendorRegs('AuthenticAMD') }),
      leaf(0x8000_0001, 0, { ecx: 0x75c237ff, edx: 0x2fd3fbff }),
      leaf(0x8000_000a, 0, { eax: 1, ebx: 0x8000, edx: 0x1bfbf }),
    ];
    const off = vcpuCpuid(amd, 0, 2);
    expect(find(off, 0x8000_0001).ecx).toBe(0x75c237ff & ~(1 << 2));
    expect(find(off, 0x8000_0001).edx).toBe(0x2fd3fbff);
    expect(find(off, 0x8000_000a)).toMatchObject({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
    const on = vcpuCpuid(amd, 0, 2, true);
    expect(find(on, 0x8000_0001).ecx).toBe(0x75c237ff);
    expect(find(on, 0x8000_000a)).toMatchObject({ eax: 1, ebx: 0x8000, edx: 0x1bfbf });
  });

  it('refuses impossible topologies', () => {
    expect(() => vcpuCpuid(INTEL, 0, 0)).toThrow(/choose 1 to 254/);
    expect(() => vcpuCpuid(INTEL, 4, 4)).toThrow(/vCPU 4 does not exist/);
    expect(() => vcpuCpuid(INTEL, 0, 300)).toThrow(/300 vCPUs/);
  });
});
