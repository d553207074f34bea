// struct kvm_run (include/uapi/linux/kvm.h): the page KVM shares with userspace per vCPU. The
// header and the exit-union members we use: io, mmio, system_event, internal, fail_entry.
import type { StructLayout } from './layout';

export const RUN_LAYOUT: StructLayout = {
  cName: 'struct kvm_run',
  size: 2352, // sizeof(struct kvm_run) on x86_64; the mapping is KVM_GET_VCPU_MMAP_SIZE bytes
  fields: {
    request_interrupt_window: 0,
    immediate_exit: 1,
    exit_reason: 8,
    ready_for_interrupt_injection: 12,
    if_flag: 13,
    flags: 14,
    cr8: 16,
    apic_base: 24,
    // union at 32
    'fail_entry.hardware_entry_failure_reason': 32,
    'fail_entry.cpu': 40,
    'io.direction': 32,
    'io.size': 33,
    'io.port': 34,
    'io.count': 36,
    'io.data_offset': 40,
    'mmio.phys_addr': 32,
    'mmio.data': 40,
    'mmio.len': 48,
    'mmio.is_write': 52,
    'internal.suberror': 32,
    'internal.ndata': 36,
    'internal.data': 40,
    'system_event.type': 32,
    'system_event.ndata': 36,
    'system_event.data': 40,
  },
};

// Offsets as plain constants for the hot path.
export const RUN_IMMEDIATE_EXIT = 1;
export const RUN_EXIT_REASON = 8;
export const RUN_FAIL_ENTRY_REASON = 32;
export const RUN_IO_DIRECTION = 32;
export const RUN_IO_SIZE = 33;
export const RUN_IO_PORT = 34;
export const RUN_IO_COUNT = 36;
export const RUN_IO_DATA_OFFSET = 40;
export const RUN_MMIO_PHYS_ADDR = 32;
export const RUN_MMIO_DATA = 40;
export const RUN_MMIO_DATA_SIZE = 8;
export const RUN_MMIO_LEN = 48;
export const RUN_MMIO_IS_WRITE = 52;
export const RUN_INTERNAL_SUBERROR = 32;
export const RUN_INTERNAL_NDATA = 36;
export const RUN_INTERNAL_DATA = 40;
export const RUN_INTERNAL_DATA_MAX = 16;
export const RUN_SYSTEM_EVENT_TYPE = 32;
