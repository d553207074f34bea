// Per-vCPU CPUID from KVM_GET_SUPPORTED_CPUID: APIC ids and a topology of one package with N cores
// of one thread each. Leaf layouts: Intel SDM vol. 2A "CPUID" (leaf 01H EBX/ECX/EDX, leaf 04H
// EAX[31:26] and [25:14], leaves 0BH and 1FH "Extended Topology Enumeration"); AMD APM vol. 3
// (Fn8000_0008 ECX NC and ApicIdSize). KVM's own signature leaves (0x4000_0000..) are kept as they
// come; KVM_CPUID_FLAG_SIGNIFCANT_INDEX is Linux include/uapi/linux/kvm.h. Hardware virtualization
// (VMX: leaf 01H ECX[5]; SVM: Fn8000_0001 ECX[2], its features Fn8000_000A) is hidden unless the
// VM asks for nested virtualization, off by default (Cloud Hypervisor's
// default is on): a guest that cannot be a hypervisor never reaches the host KVM's nested code.
import { VmmError, type CpuidEntry } from '@vmm/hypervisor';

export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;

const LEAF_VENDOR = 0x0;
const LEAF_FEATURES = 0x1;
const LEAF_CACHE_PARAMS = 0x4;
const LEAF_TOPOLOGY = 0xb;
const LEAF_TOPOLOGY_V2 = 0x1f;
const LEAF_AMD_SIZE_IDS = 0x8000_0008;
const LEAF_AMD_FEATURES = 0x8000_0001;
const LEAF_AMD_SVM = 0x8000_000a;

const LEAF1_ECX_HYPERVISOR = 1 << 31;
const LEAF1_EDX_HTT = 1 << 28;
const LEAF1_ECX_VMX = 1 << 5;
const AMD_FEATURES_ECX_SVM = 1 << 2;
const TOPOLOGY_LEVEL_SMT = 1;
const TOPOLOGY_LEVEL_CORE = 2;

/** The largest APIC id a leaf 01H EBX[31:24] holds (0xff is the broadcast id). */
export const MAX_VCPUS = 254;

/** Bits needed to number `n` items: ceil(log2(n)). */
function idBits(n: number): number {
  let bits = 0;
  while (1 << bits < n) bits++;
  return bits;
}

function vendorOf(entries: readonly CpuidEntry[]): string {
  const e = entries.find((x) => x.function === LEAF_VENDOR);
  if (!e) return '';
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint32(0, e.ebx, true);
  v.setUint32(4, e.edx, true);
  v.setUint32(8, e.ecx, true);
  return new TextDecoder().decode(b);
}

function topologyLeaf(fn: number, apicId: number, count: number): CpuidEntry[] {
  const f = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  const coreBits = idBits(count);
  return [
    { function: fn, index: 0, flags: f, eax: 0, ebx: 1, ecx: (TOPOLOGY_LEVEL_SMT << 8) | 0, edx: apicId },
    {
      function: fn,
      index: 1,
      flags: f,
      eax: coreBits,
      ebx: count,
      ecx: (TOPOLOGY_LEVEL_CORE << 8) | 1,
      edx: apicId,
    },
    { function: fn, index: 2, flags: f, eax: 0, ebx: 0, ecx: 2, edx: apicId },
  ];
}

/**
 * The CPUID table for vCPU `vcpuId` (also its APIC id) of `count`: a fresh copy of `supported`
 * with its identity and topology set, and VMX/SVM only when `nested`.
 */
export function vcpuCpuid(
  supported: readonly CpuidEntry[],
  vcpuId: number,
  count: number,
  nested = false,
): CpuidEntry[] {
  const apicId = vcpuId;
  if (!Number.isInteger(count) || count < 1 || count > MAX_VCPUS) {
    throw new VmmError('EVCPUCOUNT', `${count} vCPUs is not possible: choose 1 to ${MAX_VCPUS}`);
  }
  if (!Number.isInteger(apicId) || apicId < 0 || apicId >= count) {
    throw new VmmError('EVCPUID', `vCPU ${apicId} does not exist in a machine of ${count} vCPUs`);
  }
  const isAmd = vendorOf(supported) === 'AuthenticAMD';
  const out: CpuidEntry[] = [];
  const replaced = new Set<number>();
  for (const src of supported) {
    const e: CpuidEntry = { ...src };
    switch (e.function) {
      case LEAF_FEATURES:
        e.ebx = ((e.ebx & 0xffff) | (Math.min(count, 0xff) << 16) | (apicId << 24)) >>> 0;
        e.ecx = (e.ecx | LEAF1_ECX_HYPERVISOR) >>> 0;
        e.edx = (count > 1 ? e.edx | LEAF1_EDX_HTT : e.edx & ~LEAF1_EDX_HTT) >>> 0;
        if (!nested) e.ecx = (e.ecx & ~LEAF1_ECX_VMX) >>> 0;
        break;
      case LEAF_AMD_FEATURES:
        if (!nested) e.ecx = (e.ecx & ~AMD_FEATURES_ECX_SVM) >>> 0;
        break;
      case LEAF_AMD_SVM:
        if (!nested) e.eax = e.ebx = e.ecx = e.edx = 0;
        break;
      case LEAF_CACHE_PARAMS: {
        if (isAmd || (e.eax & 0x1f) === 0) break; // type 0: no more caches
        const level = (e.eax >> 5) & 0x7;
        const sharing = level >= 3 ? count : 1;
        e.eax =
          ((e.eax & 0x3fff) | ((Math.min(sharing, 0x1000) - 1) << 14) | ((Math.min(count, 64) - 1) << 26)) >>>
          0;
        break;
      }
      case LEAF_TOPOLOGY:
      case LEAF_TOPOLOGY_V2:
        if (!replaced.has(e.function)) {
          replaced.add(e.function);
          out.push(...topologyLeaf(e.function, apicId, count));
        }
        continue;
      case LEAF_AMD_SIZE_IDS:
        if (isAmd) e.ecx = ((e.ecx & ~0xf0ff) | (idBits(count) << 12) | (count - 1)) >>> 0;
        break;
    }
    out.push(e);
  }
  return out;
}
