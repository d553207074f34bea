// Every KVM struct layout this backend declares, for the ABI check (src/kvm/abi.test.ts).
import { CLOCK_DATA_LAYOUT } from './clock-data';
import { CPUID2_LAYOUT, CPUID_ENTRY2_LAYOUT } from './cpuid2';
import { DEBUGREGS_LAYOUT } from './debugregs';
import { FPU_LAYOUT } from './fpu';
import { IOEVENTFD_LAYOUT } from './ioeventfd';
import { IRQ_LEVEL_LAYOUT } from './irq-level';
import { IOAPIC_STATE_LAYOUT, IRQCHIP_LAYOUT, PIC_STATE_LAYOUT } from './irqchip';
import { IRQFD_LAYOUT } from './irqfd';
import { LAPIC_STATE_LAYOUT } from './lapic-state';
import type { StructLayout } from './layout';
import { MP_STATE_LAYOUT } from './mp-state';
import { MSR_LIST_LAYOUT } from './msr-list';
import { MSR_ENTRY_LAYOUT, MSRS_LAYOUT } from './msrs';
import { PIT_CONFIG_LAYOUT } from './pit-config';
import { PIT_CHANNEL_STATE_LAYOUT, PIT_STATE2_LAYOUT } from './pit-state2';
import { REGS_LAYOUT } from './regs';
import { RUN_LAYOUT } from './run';
import { DTABLE_LAYOUT, SEGMENT_LAYOUT } from './segment';
import { SIGNAL_MASK_LAYOUT } from './signal-mask';
import { SREGS_LAYOUT } from './sregs';
import { STATS_DESC_LAYOUT, STATS_HEADER_LAYOUT } from './stats';
import { USERSPACE_MEMORY_REGION_LAYOUT } from './userspace-memory-region';
import { VCPU_EVENTS_LAYOUT } from './vcpu-events';
import { XCR_LAYOUT, XCRS_LAYOUT } from './xcrs';
import { XSAVE_LAYOUT } from './xsave';

export const ALL_LAYOUTS: readonly StructLayout[] = [
  STATS_HEADER_LAYOUT,
  STATS_DESC_LAYOUT,
  REGS_LAYOUT,
  SEGMENT_LAYOUT,
  DTABLE_LAYOUT,
  SREGS_LAYOUT,
  FPU_LAYOUT,
  RUN_LAYOUT,
  USERSPACE_MEMORY_REGION_LAYOUT,
  CPUID2_LAYOUT,
  CPUID_ENTRY2_LAYOUT,
  MSRS_LAYOUT,
  MSR_ENTRY_LAYOUT,
  IRQFD_LAYOUT,
  IOEVENTFD_LAYOUT,
  PIT_CONFIG_LAYOUT,
  MP_STATE_LAYOUT,
  LAPIC_STATE_LAYOUT,
  IRQ_LEVEL_LAYOUT,
  SIGNAL_MASK_LAYOUT,
  // The state KVM saves and restores (kvm/vcpu-state.ts, kvm/vm-state.ts).
  XSAVE_LAYOUT,
  XCRS_LAYOUT,
  XCR_LAYOUT,
  VCPU_EVENTS_LAYOUT,
  DEBUGREGS_LAYOUT,
  MSR_LIST_LAYOUT,
  IRQCHIP_LAYOUT,
  PIC_STATE_LAYOUT,
  IOAPIC_STATE_LAYOUT,
  PIT_STATE2_LAYOUT,
  PIT_CHANNEL_STATE_LAYOUT,
  CLOCK_DATA_LAYOUT,
];
