// struct kvm_xcrs + struct kvm_xcr (arch/x86/include/uapi/asm/kvm.h): the extended control
// registers (XCR0), as KVM_GET_XCRS and KVM_SET_XCRS carry them.
import type { StructLayout } from './layout';

export const XCRS_SIZE = 392;
export const XCRS_LAYOUT: StructLayout = {
  cName: 'struct kvm_xcrs',
  size: XCRS_SIZE,
  fields: { nr_xcrs: 0, flags: 4, xcrs: 8, padding: 264 },
};

/** KVM_MAX_XCRS: the room in xcrs[]. */
export const XCRS_MAX = 16;

export const XCR_SIZE = 16;
export const XCR_LAYOUT: StructLayout = {
  cName: 'struct kvm_xcr',
  size: XCR_SIZE,
  fields: { xcr: 0, reserved: 4, value: 8 },
};

/** The value of XCR `xcr` in a kvm_xcrs, or undefined when KVM did not report it. */
export function readXcr(v: DataView, xcr: number): bigint | undefined {
  const n = Math.min(v.getUint32(XCRS_LAYOUT.fields.nr_xcrs!, true), XCRS_MAX);
  for (let i = 0; i < n; i++) {
    const at = XCRS_LAYOUT.fields.xcrs! + i * XCR_SIZE;
    if (v.getUint32(at, true) === xcr) return v.getBigUint64(at + XCR_LAYOUT.fields.value!, true);
  }
  return undefined;
}
