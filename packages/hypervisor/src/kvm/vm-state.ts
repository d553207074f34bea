// Saving and restoring what KVM holds of a VM outside its vCPUs (MachineSnapshot): the in-kernel
// PICs and IOAPIC (KVM_GET/SET_IRQCHIP), the PIT (KVM_GET/SET_PIT2) and the kvmclock
// (KVM_GET/SET_CLOCK), with every vCPU out of KVM_RUN.
//
// Save reads the clock first, nearest the moment the vCPUs stopped. Restore sets the chips first,
// then the PIT (KVM_SET_PIT2 restarts its counters at once, and what it raises then finds the chips
// as they were), then the clock last, nearest the moment the vCPUs resume.
//
// The clock (Documentation/virt/kvm/api.rst, KVM_GET_CLOCK/KVM_SET_CLOCK): KVM_CLOCK_TSC_STABLE
// and KVM_CLOCK_HOST_TSC only describe the reading, and kernels before 5.16 refuse any flag in
// KVM_SET_CLOCK, so a restore passes only KVM_CLOCK_REALTIME, and only where
// KVM_CHECK_EXTENSION(KVM_CAP_ADJUST_CLOCK) lists it (Firecracker clears TSC_STABLE the same way).
// With it, KVM advances the clock by the wall time between `realtime` and the restore. KVM fills
// `realtime` only when the host's clocksource is the TSC; otherwise the save fills it from the
// host's clock, as Cloud Hypervisor does, so a guest's kvmclock catches up after a restore instead
// of lagging by the time it spent saved.
import { VmmError } from '../errors';
import { check } from '../sys/call';
import { libc } from '../sys/libc';
import type { MachineSnapshot } from '../types';
import {
  KVM_CLOCK_REALTIME,
  KVM_GET_CLOCK,
  KVM_GET_IRQCHIP,
  KVM_GET_PIT2,
  KVM_IRQCHIP_IOAPIC,
  KVM_IRQCHIP_PIC_MASTER,
  KVM_IRQCHIP_PIC_SLAVE,
  KVM_SET_CLOCK,
  KVM_SET_IRQCHIP,
  KVM_SET_PIT2,
} from './constants';
import { CLOCK_DATA_SIZE, encodeClockData, readClockData } from './structs/clock-data';
import { allocIrqchip, irqchipId } from './structs/irqchip';
import { PIT_STATE2_SIZE } from './structs/pit-state2';

/** What a VM has that its state includes; found by kvm/vm.ts. */
export interface KvmMachineStateSupport {
  /** createIrqchip() ran: the PICs, the IOAPIC and the PIT exist. */
  irqchip: boolean;
  /** KVM_CHECK_EXTENSION(KVM_CAP_ADJUST_CLOCK): the kvm_clock_data flags KVM_SET_CLOCK takes. */
  clockFlags: number;
}

/** A restore this VM cannot take: what, why, what to do. */
export class MachineStateError extends VmmError {}

/** The host's CLOCK_REALTIME in ns (to ~1 µs: what a double of ms since 1970 holds). */
export function realtimeNs(): bigint {
  const ms = performance.timeOrigin + performance.now();
  return BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1e6));
}

export function saveMachineState(vmFd: number, support: KvmMachineStateSupport): MachineSnapshot {
  const c = libc();
  const clockBuf = new Uint8Array(CLOCK_DATA_SIZE);
  check('KVM_GET_CLOCK', c.ioctlPtr(vmFd, KVM_GET_CLOCK, clockBuf));
  const clock = readClockData(clockBuf);
  const filled =
    clock.flags & KVM_CLOCK_REALTIME
      ? clockBuf
      : encodeClockData({ ...clock, flags: clock.flags | KVM_CLOCK_REALTIME, realtime: realtimeNs() });
  if (!support.irqchip) return { backend: 'kvm', arch: 'x86_64', irqchip: null, pit: null, clock: filled };
  const chip = (id: number, name: string) => {
    const buf = allocIrqchip(id);
    check('KVM_GET_IRQCHIP', c.ioctlPtr(vmFd, KVM_GET_IRQCHIP, buf), name);
    return buf;
  };
  const irqchip = {
    picMaster: chip(KVM_IRQCHIP_PIC_MASTER, 'PIC master'),
    picSlave: chip(KVM_IRQCHIP_PIC_SLAVE, 'PIC slave'),
    ioapic: chip(KVM_IRQCHIP_IOAPIC, 'IOAPIC'),
  };
  const pit = new Uint8Array(PIT_STATE2_SIZE);
  check('KVM_GET_PIT2', c.ioctlPtr(vmFd, KVM_GET_PIT2, pit));
  return { backend: 'kvm', arch: 'x86_64', irqchip, pit, clock: filled };
}

export function restoreMachineState(vmFd: number, support: KvmMachineStateSupport, s: MachineSnapshot): void {
  const refuse = (what: string): never => {
    throw new MachineStateError('EVMSTATE', `cannot restore the VM: ${what}`);
  };
  if (s.backend !== 'kvm' || s.arch !== 'x86_64')
    refuse(`the state is of a ${s.backend} ${s.arch} VM, not a KVM x86_64 one`);
  if ((s.irqchip !== null || s.pit !== null) && !support.irqchip)
    refuse('the saved VM had the in-kernel irqchip and PIT: call createIrqchip() before restoring');
  if (s.irqchip === null && support.irqchip)
    refuse('the saved VM had no in-kernel irqchip but this one has: set the VM up as the saved one was');
  const c = libc();
  if (s.irqchip) {
    const chips = [
      [s.irqchip.picMaster, KVM_IRQCHIP_PIC_MASTER, 'PIC master'],
      [s.irqchip.picSlave, KVM_IRQCHIP_PIC_SLAVE, 'PIC slave'],
      [s.irqchip.ioapic, KVM_IRQCHIP_IOAPIC, 'IOAPIC'],
    ] as const;
    for (const [buf, id, name] of chips) {
      if (irqchipId(buf) !== id) refuse(`the ${name}'s saved state names chip ${irqchipId(buf)}, not ${id}`);
      check('KVM_SET_IRQCHIP', c.ioctlPtr(vmFd, KVM_SET_IRQCHIP, buf), name);
    }
  }
  if (s.pit) check('KVM_SET_PIT2', c.ioctlPtr(vmFd, KVM_SET_PIT2, s.pit));
  const clock = readClockData(s.clock);
  const flags = clock.flags & KVM_CLOCK_REALTIME & support.clockFlags;
  check('KVM_SET_CLOCK', c.ioctlPtr(vmFd, KVM_SET_CLOCK, encodeClockData({ ...clock, flags })));
}
