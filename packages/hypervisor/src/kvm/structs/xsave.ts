// struct kvm_xsave (arch/x86/include/uapi/asm/kvm.h): the vCPU's XSAVE area, as KVM_GET_XSAVE,
// KVM_GET_XSAVE2 and KVM_SET_XSAVE carry it. `region` is the 4 KiB of the legacy area, the XSAVE
// header and the components laid out as the host's CPUID leaf 0xD says; `extra` follows when the
// host's XSAVE area is larger (KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) on the VM gives the size).
// Layout of the legacy area and header: Intel SDM Vol. 1 §13.4.
import type { StructLayout } from './layout';

export const XSAVE_SIZE = 4096;
export const XSAVE_LAYOUT: StructLayout = {
  cName: 'struct kvm_xsave',
  size: XSAVE_SIZE,
  fields: { region: 0, extra: XSAVE_SIZE },
};

/** Intel SDM Vol. 1 Table 10-2 (the FXSAVE area at the start of the XSAVE area). */
export const XSAVE_FCW = 0;
export const XSAVE_MXCSR = 24;
/** xmm0 to xmm15, 16 bytes each. */
export const XSAVE_XMM = 160;
/** Intel SDM Vol. 1 §13.4.2: the XSAVE header's XSTATE_BV, the components present. */
export const XSAVE_XSTATE_BV = 512;
