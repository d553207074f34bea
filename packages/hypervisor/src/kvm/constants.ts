// KVM ABI numbers: ioctls computed as the kernel does (include/uapi/asm-generic/ioctl.h), and the
// capabilities, exit reasons, system events and MP states of include/uapi/linux/kvm.h (x86_64).
// src/kvm/abi.test.ts compiles a C program against <linux/kvm.h> and checks every value here.
import { CLOCK_DATA_SIZE } from './structs/clock-data';
import { CPUID2_HEADER_SIZE } from './structs/cpuid2';
import { DEBUGREGS_SIZE } from './structs/debugregs';
import { FPU_SIZE } from './structs/fpu';
import { IOEVENTFD_SIZE } from './structs/ioeventfd';
import { IRQ_LEVEL_SIZE } from './structs/irq-level';
import { IRQCHIP_SIZE } from './structs/irqchip';
import { IRQFD_SIZE } from './structs/irqfd';
import { LAPIC_STATE_SIZE } from './structs/lapic-state';
import { MP_STATE_SIZE } from './structs/mp-state';
import { MSR_LIST_HEADER_SIZE } from './structs/msr-list';
import { MSRS_HEADER_SIZE } from './structs/msrs';
import { PIT_CONFIG_SIZE } from './structs/pit-config';
import { PIT_STATE2_SIZE } from './structs/pit-state2';
import { REGS_SIZE } from './structs/regs';
import { SIGNAL_MASK_HEADER_SIZE } from './structs/signal-mask';
import { SREGS_SIZE } from './structs/sregs';
import { USERSPACE_MEMORY_REGION_SIZE } from './structs/userspace-memory-region';
import { VCPU_EVENTS_SIZE } from './structs/vcpu-events';
import { XCRS_SIZE } from './structs/xcrs';
import { XSAVE_SIZE } from './structs/xsave';

// asm-generic/ioctl.h: nr 8 bits, type 8 bits, size 14 bits, dir 2 bits.
const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;
const ioc = (dir: number, type: number, nr: number, size: number): number =>
  ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
const IO = (type: number, nr: number) => ioc(IOC_NONE, type, nr, 0);
const IOR = (type: number, nr: number, size: number) => ioc(IOC_READ, type, nr, size);
const IOW = (type: number, nr: number, size: number) => ioc(IOC_WRITE, type, nr, size);
const IOWR = (type: number, nr: number, size: number) => ioc(IOC_READ | IOC_WRITE, type, nr, size);

export const KVMIO = 0xae;
export const KVM_API_VERSION = 12;

// System ioctls (on the /dev/kvm fd).
export const KVM_GET_API_VERSION = IO(KVMIO, 0x00);
export const KVM_CREATE_VM = IO(KVMIO, 0x01);
export const KVM_CHECK_EXTENSION = IO(KVMIO, 0x03);
export const KVM_GET_VCPU_MMAP_SIZE = IO(KVMIO, 0x04);
export const KVM_GET_MSR_INDEX_LIST = IOWR(KVMIO, 0x02, MSR_LIST_HEADER_SIZE);
export const KVM_GET_SUPPORTED_CPUID = IOWR(KVMIO, 0x05, CPUID2_HEADER_SIZE);

// VM ioctls.
export const KVM_CREATE_VCPU = IO(KVMIO, 0x41);
/** On a VM or vCPU fd: a read-only fd of its binary statistics (Linux 5.14). */
export const KVM_GET_STATS_FD = IO(KVMIO, 0xce);
export const KVM_SET_USER_MEMORY_REGION = IOW(KVMIO, 0x46, USERSPACE_MEMORY_REGION_SIZE);
export const KVM_SET_TSS_ADDR = IO(KVMIO, 0x47);
export const KVM_SET_IDENTITY_MAP_ADDR = IOW(KVMIO, 0x48, 8); // __u64
export const KVM_CREATE_IRQCHIP = IO(KVMIO, 0x60);
export const KVM_IRQ_LINE = IOW(KVMIO, 0x61, IRQ_LEVEL_SIZE);
export const KVM_GET_IRQCHIP = IOWR(KVMIO, 0x62, IRQCHIP_SIZE);
export const KVM_SET_IRQCHIP = IOR(KVMIO, 0x63, IRQCHIP_SIZE); // _IOR in the header, for history's sake
export const KVM_IRQFD = IOW(KVMIO, 0x76, IRQFD_SIZE);
export const KVM_CREATE_PIT2 = IOW(KVMIO, 0x77, PIT_CONFIG_SIZE);
export const KVM_IOEVENTFD = IOW(KVMIO, 0x79, IOEVENTFD_SIZE);
export const KVM_SET_CLOCK = IOW(KVMIO, 0x7b, CLOCK_DATA_SIZE);
export const KVM_GET_CLOCK = IOR(KVMIO, 0x7c, CLOCK_DATA_SIZE);
export const KVM_GET_PIT2 = IOR(KVMIO, 0x9f, PIT_STATE2_SIZE);
export const KVM_SET_PIT2 = IOW(KVMIO, 0xa0, PIT_STATE2_SIZE);

// vCPU ioctls.
export const KVM_RUN = IO(KVMIO, 0x80);
export const KVM_GET_REGS = IOR(KVMIO, 0x81, REGS_SIZE);
export const KVM_SET_REGS = IOW(KVMIO, 0x82, REGS_SIZE);
export const KVM_GET_SREGS = IOR(KVMIO, 0x83, SREGS_SIZE);
export const KVM_SET_SREGS = IOW(KVMIO, 0x84, SREGS_SIZE);
export const KVM_GET_MSRS = IOWR(KVMIO, 0x88, MSRS_HEADER_SIZE);
export const KVM_SET_MSRS = IOW(KVMIO, 0x89, MSRS_HEADER_SIZE);
export const KVM_SET_SIGNAL_MASK = IOW(KVMIO, 0x8b, SIGNAL_MASK_HEADER_SIZE);
export const KVM_GET_FPU = IOR(KVMIO, 0x8c, FPU_SIZE);
export const KVM_SET_FPU = IOW(KVMIO, 0x8d, FPU_SIZE);
export const KVM_GET_LAPIC = IOR(KVMIO, 0x8e, LAPIC_STATE_SIZE);
export const KVM_SET_LAPIC = IOW(KVMIO, 0x8f, LAPIC_STATE_SIZE);
export const KVM_SET_CPUID2 = IOW(KVMIO, 0x90, CPUID2_HEADER_SIZE);
export const KVM_GET_CPUID2 = IOWR(KVMIO, 0x91, CPUID2_HEADER_SIZE);
export const KVM_GET_MP_STATE = IOR(KVMIO, 0x98, MP_STATE_SIZE);
export const KVM_SET_MP_STATE = IOW(KVMIO, 0x99, MP_STATE_SIZE);
export const KVM_GET_VCPU_EVENTS = IOR(KVMIO, 0x9f, VCPU_EVENTS_SIZE);
export const KVM_SET_VCPU_EVENTS = IOW(KVMIO, 0xa0, VCPU_EVENTS_SIZE);
export const KVM_GET_DEBUGREGS = IOR(KVMIO, 0xa1, DEBUGREGS_SIZE);
export const KVM_SET_DEBUGREGS = IOW(KVMIO, 0xa2, DEBUGREGS_SIZE);
export const KVM_SET_TSC_KHZ = IO(KVMIO, 0xa2);
export const KVM_GET_TSC_KHZ = IO(KVMIO, 0xa3);
export const KVM_GET_XSAVE = IOR(KVMIO, 0xa4, XSAVE_SIZE);
export const KVM_SET_XSAVE = IOW(KVMIO, 0xa5, XSAVE_SIZE);
export const KVM_GET_XCRS = IOR(KVMIO, 0xa6, XCRS_SIZE);
export const KVM_SET_XCRS = IOW(KVMIO, 0xa7, XCRS_SIZE);
export const KVM_KVMCLOCK_CTRL = IO(KVMIO, 0xad);
/** Copies KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) bytes, however large: the size in the number is 4096. */
export const KVM_GET_XSAVE2 = IOR(KVMIO, 0xcf, XSAVE_SIZE);

/** Capabilities (KVM_CHECK_EXTENSION). */
export const KVM_CAP_IRQCHIP = 0;
export const KVM_CAP_HLT = 1;
export const KVM_CAP_USER_MEMORY = 3;
export const KVM_CAP_SET_TSS_ADDR = 4;
export const KVM_CAP_EXT_CPUID = 7;
export const KVM_CAP_NR_VCPUS = 9;
export const KVM_CAP_NR_MEMSLOTS = 10;
export const KVM_CAP_MP_STATE = 14;
export const KVM_CAP_IRQFD = 32;
export const KVM_CAP_PIT2 = 33;
export const KVM_CAP_IOEVENTFD = 36;
export const KVM_CAP_SET_IDENTITY_MAP_ADDR = 37;
export const KVM_CAP_ADJUST_CLOCK = 39;
export const KVM_CAP_VCPU_EVENTS = 41;
export const KVM_CAP_DEBUGREGS = 50;
export const KVM_CAP_XSAVE = 55;
export const KVM_CAP_XCRS = 56;
export const KVM_CAP_TSC_CONTROL = 60;
export const KVM_CAP_GET_TSC_KHZ = 61;
export const KVM_CAP_MAX_VCPUS = 66;
export const KVM_CAP_KVMCLOCK_CTRL = 76;
export const KVM_CAP_IMMEDIATE_EXIT = 136;
export const KVM_CAP_XSAVE2 = 208;

/** The capabilities this backend cannot work without, by their kernel names. */
export const REQUIRED_CAPABILITIES: readonly { name: string; cap: number }[] = [
  { name: 'KVM_CAP_USER_MEMORY', cap: KVM_CAP_USER_MEMORY },
  { name: 'KVM_CAP_IRQCHIP', cap: KVM_CAP_IRQCHIP },
  { name: 'KVM_CAP_HLT', cap: KVM_CAP_HLT },
  { name: 'KVM_CAP_SET_TSS_ADDR', cap: KVM_CAP_SET_TSS_ADDR },
  { name: 'KVM_CAP_SET_IDENTITY_MAP_ADDR', cap: KVM_CAP_SET_IDENTITY_MAP_ADDR },
  { name: 'KVM_CAP_EXT_CPUID', cap: KVM_CAP_EXT_CPUID },
  { name: 'KVM_CAP_MP_STATE', cap: KVM_CAP_MP_STATE },
  { name: 'KVM_CAP_PIT2', cap: KVM_CAP_PIT2 },
  { name: 'KVM_CAP_IRQFD', cap: KVM_CAP_IRQFD },
  { name: 'KVM_CAP_IOEVENTFD', cap: KVM_CAP_IOEVENTFD },
  { name: 'KVM_CAP_IMMEDIATE_EXIT', cap: KVM_CAP_IMMEDIATE_EXIT },
];

/** kvm_run.exit_reason. */
export const KVM_EXIT_UNKNOWN = 0;
export const KVM_EXIT_EXCEPTION = 1;
export const KVM_EXIT_IO = 2;
export const KVM_EXIT_HYPERCALL = 3;
export const KVM_EXIT_DEBUG = 4;
export const KVM_EXIT_HLT = 5;
export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_IRQ_WINDOW_OPEN = 7;
export const KVM_EXIT_SHUTDOWN = 8;
export const KVM_EXIT_FAIL_ENTRY = 9;
export const KVM_EXIT_INTR = 10;
export const KVM_EXIT_INTERNAL_ERROR = 17;
export const KVM_EXIT_SYSTEM_EVENT = 24;

/** kvm_run.io.direction. */
export const KVM_EXIT_IO_IN = 0;
export const KVM_EXIT_IO_OUT = 1;

/** kvm_run.system_event.type. */
export const KVM_SYSTEM_EVENT_SHUTDOWN = 1;
export const KVM_SYSTEM_EVENT_RESET = 2;
export const KVM_SYSTEM_EVENT_CRASH = 3;

/** kvm_mp_state.mp_state. */
export const KVM_MP_STATE_RUNNABLE = 0;
export const KVM_MP_STATE_UNINITIALIZED = 1;
export const KVM_MP_STATE_INIT_RECEIVED = 2;
export const KVM_MP_STATE_HALTED = 3;

/** kvm_irqchip.chip_id. */
export const KVM_IRQCHIP_PIC_MASTER = 0;
export const KVM_IRQCHIP_PIC_SLAVE = 1;
export const KVM_IRQCHIP_IOAPIC = 2;

/** kvm_clock_data.flags; KVM_CHECK_EXTENSION(KVM_CAP_ADJUST_CLOCK) answers those KVM_SET_CLOCK takes. */
export const KVM_CLOCK_TSC_STABLE = 2;
export const KVM_CLOCK_REALTIME = 1 << 2;
export const KVM_CLOCK_HOST_TSC = 1 << 3;

/** kvm_vcpu_events.flags. */
export const KVM_VCPUEVENT_VALID_NMI_PENDING = 0x1;
export const KVM_VCPUEVENT_VALID_SIPI_VECTOR = 0x2;
export const KVM_VCPUEVENT_VALID_SHADOW = 0x4;
export const KVM_VCPUEVENT_VALID_SMM = 0x8;
export const KVM_VCPUEVENT_VALID_PAYLOAD = 0x10;
export const KVM_VCPUEVENT_VALID_TRIPLE_FAULT = 0x20;

/** kvm_ioeventfd.flags (bit numbers kvm_ioeventfd_flag_nr_*). */
export const KVM_IOEVENTFD_FLAG_DATAMATCH = 1 << 0;
export const KVM_IOEVENTFD_FLAG_PIO = 1 << 1;
export const KVM_IOEVENTFD_FLAG_DEASSIGN = 1 << 2;

/** kvm_irqfd.flags. */
export const KVM_IRQFD_FLAG_DEASSIGN = 1 << 0;

/** kvm_pit_config.flags. */
export const KVM_PIT_SPEAKER_DUMMY = 1;
