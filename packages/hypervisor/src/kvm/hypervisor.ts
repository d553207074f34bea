// KvmHypervisor: the KVM backend's entry point. Opening it checks /dev/kvm, the API version and
// every capability we need, and says what to do when one is missing (HypervisorUnavailableError).
import type { Hypervisor, MemoryLayout, VirtualMachine } from '../types';
import { KvmSystem } from './system';
import { KvmVm } from './vm';

export class KvmHypervisor implements Hypervisor {
  readonly name = 'kvm';
  private readonly system: KvmSystem;

  constructor(options: { devicePath?: string } = {}) {
    this.system = KvmSystem.open(options.devicePath);
  }

  createVm(layout: MemoryLayout): VirtualMachine {
    return KvmVm.create(this.system, layout);
  }

  /** Closes /dev/kvm; VMs already created keep working. */
  close(): void {
    this.system.close();
  }
}
