import type { StopReason } from '../vcpu/protocol';

/** One sentence for a vCPU stop that ends the run as an error. */
export function describeStop(r: StopReason): string {
  switch (r.reason) {
    case 'triple-fault':
      return `the guest triple-faulted (KVM_EXIT_SHUTDOWN): its CPU reset itself; check the kernel and its command line${r.at ? ` (${r.at})` : ''}`;
    case 'internal-error':
      return `KVM internal error, suberror ${r.suberror}${r.suberror === 1 ? ' (instruction emulation failed)' : ''}: instruction bytes ${r.instruction || 'unknown'} (data ${r.data.join(' ')})`;
    case 'fail-entry':
      return `KVM could not enter the guest (hardware entry failure reason ${r.hardwareReason})`;
    case 'hlt':
      return 'the guest halted with interrupts it cannot receive (KVM_EXIT_HLT)';
    case 'crash':
      return `the guest crashed: ${r.detail}`;
    case 'error':
      return `vCPU error: ${r.detail}`;
    default:
      return `vCPU stopped: ${r.reason}`;
  }
}
