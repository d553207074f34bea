// Tests only: saved KVM states built without KVM, for the codec's tests and fuzz target: every part
// of the right size, filled with bytes that differ from part to part, each kvm_irqchip naming its
// chip. One vCPU as a host with everything saves it (XSAVE, XCRs, LAPIC, TSC kHz), one as a host
// without (kvm_fpu, nothing optional).
import type { HypervisorState } from '../kvm/state-codec';
import { CLOCK_DATA_SIZE } from '../kvm/structs/clock-data';
import { DEBUGREGS_SIZE } from '../kvm/structs/debugregs';
import { FPU_SIZE } from '../kvm/structs/fpu';
import { IRQCHIP_SIZE } from '../kvm/structs/irqchip';
import { LAPIC_STATE_SIZE } from '../kvm/structs/lapic-state';
import { PIT_STATE2_SIZE } from '../kvm/structs/pit-state2';
import { REGS_SIZE } from '../kvm/structs/regs';
import { SREGS_SIZE } from '../kvm/structs/sregs';
import { VCPU_EVENTS_SIZE } from '../kvm/structs/vcpu-events';
import { XCRS_SIZE } from '../kvm/structs/xcrs';
import { XSAVE_SIZE } from '../kvm/structs/xsave';
import type { MachineSnapshot, VcpuSnapshot } from '../types';

/** `size` bytes, byte i = (seed * 31 + i * 7) & 0xff. */
function filled(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

function chip(id: number): Uint8Array {
  const b = filled(IRQCHIP_SIZE, 10 + id);
  new DataView(b.buffer).setUint32(0, id, true);
  return b;
}

export function sampleMachine(irqchip = true): MachineSnapshot {
  return {
    backend: 'kvm',
    arch: 'x86_64',
    irqchip: irqchip ? { picMaster: chip(0), picSlave: chip(1), ioapic: chip(2) } : null,
    pit: irqchip ? filled(PIT_STATE2_SIZE, 20) : null,
    clock: filled(CLOCK_DATA_SIZE, 21),
  };
}

export function sampleVcpu(id: number, full = true, xsaveSize = XSAVE_SIZE): VcpuSnapshot {
  return {
    backend: 'kvm',
    arch: 'x86_64',
    id,
    cpuid: [
      { function: 0, index: 0, flags: 0, eax: 0xd, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 },
      { function: 0xd, index: 1, flags: 1, eax: 0xf, ebx: 0x240, ecx: 0, edx: 0xffffffff },
    ],
    mpState: full ? 0 : 3,
    regs: filled(REGS_SIZE, id * 8 + 1),
    sregs: filled(SREGS_SIZE, id * 8 + 2),
    fpu: full
      ? { format: 'kvm_xsave', bytes: filled(xsaveSize, id * 8 + 3) }
      : { format: 'kvm_fpu', bytes: filled(FPU_SIZE, id * 8 + 3) },
    xcrs: full ? filled(XCRS_SIZE, id * 8 + 4) : null,
    debugRegs: filled(DEBUGREGS_SIZE, id * 8 + 5),
    lapic: full ? filled(LAPIC_STATE_SIZE, id * 8 + 6) : null,
    msrs: full
      ? [
          { index: 0x10, data: 0x1234_5678_9abc_def0n },
          { index: 0x277, data: 0x0007_0406_0007_0406n },
          { index: 0xc0000102, data: 0xffff_8880_0000_0000n },
          { index: 0x6e0, data: 0n },
        ]
      : [],
    events: filled(VCPU_EVENTS_SIZE, id * 8 + 7),
    tscKhz: full ? 2_600_000 : null,
  };
}

/** A VM with the irqchip and two vCPUs, one of each kind. */
export function sampleState(): HypervisorState {
  return { machine: sampleMachine(), vcpus: [sampleVcpu(0), sampleVcpu(1, false)] };
}
