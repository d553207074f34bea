// Every KVM struct layout this backend declares, for the ABI check (src/kvm/abi.test.ts).
import { CPUID2_LAYOUT, CPUID_ENTRY2_LAYOUT } from './cpuid2';
import { FPU_LAYOUT } from './fpu';
import { IOEVENTFD_LAYOUT } from './ioeventfd';
import { IRQ_LEVEL_LAYOUT } from './irq-level';
import { IRQFD_LAYOUT } from './irqfd';
import { LAPIC_STATE_LAYOUT } from './lapic-state';
import type { StructLayout } from './layout';
import { MP_STATE_LAYOUT } from './mp-state';
import { MSR_ENTRY_LAYOUT, MSRS_LAYOUT } from './msrs';
import { PIT_CONFIG_LAYOUT } from './pit-config';
import { REGS_LAYOUT } from './regs';
import { RUN_LAYOUT } from './run';
import { DTABLE_LAYOUT, SEGMENT_LAYOUT } from './segment';
import { SIGNAL_MASK_LAYOUT } from './signal-mask';
import { SREGS_LAYOUT } from './sregs';
import { USERSPACE_MEMORY_REGION_LAYOUT } from './userspace-memory-region';

export const ALL_LAYOUTS: readonly StructLayout[] = [
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
];
