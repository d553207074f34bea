// struct kvm_run (include/uapi/linux/kvm.h): the page KVM shares with userspace per vCPU. The
// header and the exit-union members we use: io, mmio, system_event, internal, fail_entry.
import type { StructLayout } from './layout';

export const RUN_LAYOUT = {
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
} as const satisfies StructLayout;

// The hot path's offsets: module constants read from the one layout above (checked by gcc in
// abi.test.ts), not a second list of numbers.
const F = RUN_LAYOUT.fields;
export const RUN_IMMEDIATE_EXIT = F.immediate_exit;
export const RUN_EXIT_REASON = F.exit_reason;
export const RUN_FAIL_ENTRY_REASON = F['fail_entry.hardware_entry_failure_reason'];
export const RUN_IO_DIRECTION = F['io.direction'];
export const RUN_IO_SIZE = F['io.size'];
export const RUN_IO_PORT = F['io.port'];
export const RUN_IO_COUNT = F['io.count'];
export const RUN_IO_DATA_OFFSET = F['io.data_offset'];
export const RUN_MMIO_PHYS_ADDR = F['mmio.phys_addr'];
export const RUN_MMIO_DATA = F['mmio.data'];
export const RUN_MMIO_LEN = F['mmio.len'];
export const RUN_MMIO_IS_WRITE = F['mmio.is_write'];
export const RUN_INTERNAL_SUBERROR = F['internal.suberror'];
export const RUN_INTERNAL_NDATA = F['internal.ndata'];
export const RUN_INTERNAL_DATA = F['internal.data'];
export const RUN_SYSTEM_EVENT_TYPE = F['system_event.type'];
/** sizeof(kvm_run.mmio.data) and the length of kvm_run.internal.data[] (u64s): abi.test.ts. */
export const RUN_MMIO_DATA_SIZE = 8;
export const RUN_INTERNAL_DATA_MAX = 16;
