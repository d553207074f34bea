// struct kvm_debugregs (arch/x86/include/uapi/asm/kvm.h): DR0-DR3, DR6 and DR7, as
// KVM_GET_DEBUGREGS and KVM_SET_DEBUGREGS carry them (flags must be 0).
import type { StructLayout } from './layout';

export const DEBUGREGS_SIZE = 128;
export const DEBUGREGS_LAYOUT: StructLayout = {
  cName: 'struct kvm_debugregs',
  size: DEBUGREGS_SIZE,
  fields: { db: 0, dr6: 32, dr7: 40, flags: 48, reserved: 56 },
};
