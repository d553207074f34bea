// x86_64 boot: what the machine builder needs to lay out memory, load a kernel and set up vCPUs.
export * from './layout';
export * from './errors';
export {
  type E820Entry,
  E820_ACPI,
  E820_RAM,
  E820_RESERVED,
  MAX_RAM_SIZE,
  MIN_RAM_SIZE,
  checkRamSize,
  e820Map,
  lowRamSize,
  memoryLayout,
} from './memory-map';
export {
  type BootPlan,
  type EntryKind,
  type KernelFormat,
  type LoadKernelOptions,
  type Placement,
  loadKernel,
} from './loader';
export { isLinuxKernel, kernelFormat } from './kernel-kind';
export { MAX_VCPUS, vcpuCpuid } from './cpuid';
export { bootMsrs } from './msrs';
export {
  type HostQuirk,
  applyHostQuirks,
  describeHostQuirks,
  hostQuirks,
  readHostTscKhz,
} from './host-quirks';
export { APIC_BASE_BSP } from './boot-regs';
export { type KernelInput, type KernelSource } from './kernel-source';
