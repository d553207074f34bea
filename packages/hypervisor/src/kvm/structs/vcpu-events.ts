// struct kvm_vcpu_events (arch/x86/include/uapi/asm/kvm.h): what is pending or being injected
// into a vCPU (exception, interrupt, NMI, SMI, triple fault) and its interrupt shadow, as
// KVM_GET_VCPU_EVENTS and KVM_SET_VCPU_EVENTS carry them. `flags` says which optional parts are
// valid (KVM_VCPUEVENT_VALID_*, Documentation/virt/kvm/api.rst).
import type { StructLayout } from './layout';

export const VCPU_EVENTS_SIZE = 64;
export const VCPU_EVENTS_LAYOUT: StructLayout = {
  cName: 'struct kvm_vcpu_events',
  size: VCPU_EVENTS_SIZE,
  fields: {
    'exception.injected': 0,
    'exception.nr': 1,
    'exception.has_error_code': 2,
    'exception.pending': 3,
    'exception.error_code': 4,
    'interrupt.injected': 8,
    'interrupt.nr': 9,
    'interrupt.soft': 10,
    'interrupt.shadow': 11,
    'nmi.injected': 12,
    'nmi.pending': 13,
    'nmi.masked': 14,
    sipi_vector: 16,
    flags: 20,
    'smi.smm': 24,
    'smi.pending': 25,
    'triple_fault.pending': 28,
    reserved: 29,
    exception_has_payload: 55,
    exception_payload: 56,
  },
};
