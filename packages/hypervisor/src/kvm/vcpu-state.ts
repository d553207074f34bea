// Saving and restoring everything KVM holds of an x86_64 vCPU (VcpuSnapshot), in the order
// Firecracker (src/vmm/src/arch/x86_64/vcpu.rs, save_state/restore_state) and Cloud Hypervisor
// (hypervisor/src/kvm/mod.rs, state/set_state) found the kernel needs (arch/x86/kvm/x86.c):
//
// Save: KVM_GET_MP_STATE first, because it runs kvm_apic_accept_events(), which may change the
// vCPU and LAPIC state the later calls read; KVM_GET_VCPU_EVENTS last, because the other GETs may
// move what is pending (KVM_GET_SREGS reports an injected interrupt too).
//
// Restore: KVM_SET_CPUID2 first: what KVM accepts later (XSAVE components, XCR0, MSRs) depends on
// the guest's CPUID. KVM_SET_MP_STATE early (it depends on whether the vCPU is the BSP).
// KVM_SET_REGS before KVM_SET_VCPU_EVENTS: it drops pending exceptions, which the events restore.
// KVM_SET_SREGS before KVM_SET_LAPIC: sregs carry the APIC base MSR, which places the LAPIC (and
// says x2APIC). KVM_SET_LAPIC before KVM_SET_MSRS: a TSC-deadline write is kept only when the
// LAPIC is in TSC-deadline mode. The TSC frequency before the MSRs (MSR_IA32_TSC counts at it),
// and MSR_IA32_TSC before MSR_IA32_TSC_DEADLINE (KVM arms the deadline against the TSC).
// KVM_SET_VCPU_EVENTS last, then KVM_KVMCLOCK_CTRL: the guest's kvmclock page says it was paused,
// so its soft-lockup watchdog does not fire over the gap.
import { VmmError } from '../errors';
import { callError, check } from '../sys/call';
import { EINVAL } from '../sys/errno';
import { lastErrno, libc } from '../sys/libc';
import type { CpuidEntry, MsrEntry, VcpuSnapshot } from '../types';
import {
  KVM_GET_CPUID2,
  KVM_GET_DEBUGREGS,
  KVM_GET_FPU,
  KVM_GET_LAPIC,
  KVM_GET_MP_STATE,
  KVM_GET_MSRS,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_GET_TSC_KHZ,
  KVM_GET_VCPU_EVENTS,
  KVM_GET_XCRS,
  KVM_GET_XSAVE,
  KVM_GET_XSAVE2,
  KVM_KVMCLOCK_CTRL,
  KVM_SET_CPUID2,
  KVM_SET_DEBUGREGS,
  KVM_SET_FPU,
  KVM_SET_LAPIC,
  KVM_SET_MP_STATE,
  KVM_SET_MSRS,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  KVM_SET_TSC_KHZ,
  KVM_SET_VCPU_EVENTS,
  KVM_SET_XCRS,
  KVM_SET_XSAVE,
} from './constants';
import { allocCpuid2, encodeCpuid2, readCpuid2 } from './structs/cpuid2';
import { DEBUGREGS_SIZE } from './structs/debugregs';
import { FPU_SIZE } from './structs/fpu';
import { LAPIC_STATE_SIZE } from './structs/lapic-state';
import { MP_STATE_SIZE } from './structs/mp-state';
import { encodeMsrs, readMsrs } from './structs/msrs';
import { REGS_SIZE } from './structs/regs';
import { SREGS_SIZE } from './structs/sregs';
import { VCPU_EVENTS_SIZE } from './structs/vcpu-events';
import { XCRS_SIZE } from './structs/xcrs';
import { XSAVE_SIZE } from './structs/xsave';

/**
 * What saving and restoring a vCPU needs to know of the host, found once per VM on the thread that
 * holds /dev/kvm (kvm/vm.ts) and handed to every attachment of the vCPU: the vCPU's own thread
 * cannot ask /dev/kvm, and its seccomp filter allows only vCPU ioctls. Structured-cloneable.
 */
export interface KvmVcpuStateSupport {
  /** The MSRs to save: KVM_GET_MSR_INDEX_LIST, then the MTRRs (which it leaves out). */
  msrs: number[];
  /**
   * Bytes of struct kvm_xsave: KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) on the VM (KVM_GET_XSAVE2), or
   * 4096 with KVM_CAP_XSAVE only (KVM_GET_XSAVE); 0 without either (KVM_GET_FPU).
   */
  xsaveSize: number;
  /** KVM_GET_XSAVE2 exists (KVM_CAP_XSAVE2). */
  xsave2: boolean;
  /** KVM_CAP_XCRS. */
  xcrs: boolean;
  /** The VM has the in-kernel irqchip, so the vCPU has a LAPIC. */
  lapic: boolean;
  /** KVM_CAP_GET_TSC_KHZ. */
  getTscKhz: boolean;
  /** KVM_CAP_TSC_CONTROL: KVM_SET_TSC_KHZ can scale the guest's TSC. */
  setTscKhz: boolean;
  /** KVM_CAP_KVMCLOCK_CTRL. */
  kvmclockCtrl: boolean;
}

/**
 * MTRR MSRs (Intel SDM Vol. 3A §11.11.1, Table 11-8: IA32_MTRR_DEF_TYPE, the eight variable pairs,
 * the eleven fixed ranges). KVM_GET_MSR_INDEX_LIST does not list them, but the monitor sets
 * IA32_MTRR_DEF_TYPE at boot and a guest may program the rest: Cloud Hypervisor adds them too.
 */
export const MTRR_MSRS: readonly number[] = [
  0x2ff,
  ...Array.from({ length: 16 }, (_, i) => 0x200 + i),
  0x250,
  0x258,
  0x259,
  ...Array.from({ length: 8 }, (_, i) => 0x268 + i),
];

/** IA32_TIME_STAMP_COUNTER and IA32_TSC_DEADLINE (Intel SDM Vol. 4 Table 2-2). */
export const MSR_IA32_TSC = 0x10;
export const MSR_IA32_TSC_DEADLINE = 0x6e0;
/** Restored after every other MSR: KVM arms the deadline against the TSC restored before it. */
const DEFERRED_MSRS: readonly number[] = [MSR_IA32_TSC_DEADLINE];

/** KVM_GET_MSRS and KVM_SET_MSRS take fewer than MAX_IO_MSRS (256) entries (arch/x86/kvm/x86.c msr_io). */
const MSR_CHUNK = 255;
/** KVM_MAX_CPUID_ENTRIES (arch/x86/include/asm/kvm_host.h). */
const CPUID_MAX = 256;

/**
 * Firecracker's 250 ppm (after QEMU): TSC frequencies within this of each other are the same
 * clock calibrated twice, not a different CPU.
 */
const TSC_KHZ_TOLERANCE_PPM = 250;

/** A restore this vCPU or host cannot take: what, why, what to do. */
export class VcpuStateError extends VmmError {}

export function saveVcpuState(fd: number, id: number, support: KvmVcpuStateSupport): VcpuSnapshot {
  const k = new VcpuIoctls(fd, id);
  const mpState = k.get('KVM_GET_MP_STATE', KVM_GET_MP_STATE, MP_STATE_SIZE);
  const regs = k.get('KVM_GET_REGS', KVM_GET_REGS, REGS_SIZE);
  const sregs = k.get('KVM_GET_SREGS', KVM_GET_SREGS, SREGS_SIZE);
  const fpu: VcpuSnapshot['fpu'] =
    support.xsaveSize >= XSAVE_SIZE
      ? {
          format: 'kvm_xsave',
          bytes: support.xsave2
            ? k.get('KVM_GET_XSAVE2', KVM_GET_XSAVE2, support.xsaveSize)
            : k.get('KVM_GET_XSAVE', KVM_GET_XSAVE, XSAVE_SIZE),
        }
      : { format: 'kvm_fpu', bytes: k.get('KVM_GET_FPU', KVM_GET_FPU, FPU_SIZE) };
  const xcrs = support.xcrs ? k.get('KVM_GET_XCRS', KVM_GET_XCRS, XCRS_SIZE) : null;
  const debugRegs = k.get('KVM_GET_DEBUGREGS', KVM_GET_DEBUGREGS, DEBUGREGS_SIZE);
  const lapic = support.lapic ? k.get('KVM_GET_LAPIC', KVM_GET_LAPIC, LAPIC_STATE_SIZE) : null;
  // 0: KVM does not know the frequency (an unstable host TSC); nothing to match on restore.
  const tscKhz = (support.getTscKhz && k.int('KVM_GET_TSC_KHZ', KVM_GET_TSC_KHZ)) || null;
  const cpuid = k.getCpuid();
  const msrs = k.readableMsrs(support.msrs);
  const events = k.get('KVM_GET_VCPU_EVENTS', KVM_GET_VCPU_EVENTS, VCPU_EVENTS_SIZE);
  return {
    backend: 'kvm',
    arch: 'x86_64',
    id,
    cpuid,
    mpState: new DataView(mpState.buffer).getUint32(0, true),
    regs,
    sregs,
    fpu,
    xcrs,
    debugRegs,
    lapic,
    msrs,
    events,
    tscKhz,
  };
}

export function restoreVcpuState(
  fd: number,
  id: number,
  support: KvmVcpuStateSupport,
  s: VcpuSnapshot,
): void {
  checkRestorable(id, support, s);
  const k = new VcpuIoctls(fd, id);
  if (s.cpuid.length > 0) k.set('KVM_SET_CPUID2', KVM_SET_CPUID2, encodeCpuid2(s.cpuid));
  const mp = new Uint8Array(MP_STATE_SIZE);
  new DataView(mp.buffer).setUint32(0, s.mpState, true);
  k.set('KVM_SET_MP_STATE', KVM_SET_MP_STATE, mp);
  k.set('KVM_SET_REGS', KVM_SET_REGS, s.regs);
  k.set('KVM_SET_SREGS', KVM_SET_SREGS, s.sregs);
  if (s.fpu.format === 'kvm_xsave') {
    // KVM_SET_XSAVE reads as many bytes as this host's XSAVE area has: pad a smaller saved one
    // (the XSAVE header's XSTATE_BV says which components it holds; the rest stays in init state).
    const area = new Uint8Array(Math.max(s.fpu.bytes.length, support.xsaveSize));
    area.set(s.fpu.bytes);
    k.set('KVM_SET_XSAVE', KVM_SET_XSAVE, area);
  } else {
    k.set('KVM_SET_FPU', KVM_SET_FPU, s.fpu.bytes);
  }
  if (s.xcrs) k.set('KVM_SET_XCRS', KVM_SET_XCRS, s.xcrs);
  k.set('KVM_SET_DEBUGREGS', KVM_SET_DEBUGREGS, s.debugRegs);
  if (s.lapic) k.set('KVM_SET_LAPIC', KVM_SET_LAPIC, s.lapic);
  if (s.tscKhz !== null && support.getTscKhz) k.matchTscKhz(s.tscKhz, support.setTscKhz);
  k.setMsrs([
    ...s.msrs.filter((m) => !DEFERRED_MSRS.includes(m.index)),
    ...s.msrs.filter((m) => DEFERRED_MSRS.includes(m.index)),
  ]);
  k.set('KVM_SET_VCPU_EVENTS', KVM_SET_VCPU_EVENTS, s.events);
  if (support.kvmclockCtrl) k.kvmclockCtrl();
}

/** The parts the snapshot has and this vCPU cannot take, refused before any ioctl changes it. */
function checkRestorable(id: number, support: KvmVcpuStateSupport, s: VcpuSnapshot): void {
  const refuse = (what: string): never => {
    throw new VcpuStateError('EVCPUSTATE', `cannot restore into vCPU ${id}: ${what}`);
  };
  if (s.backend !== 'kvm' || s.arch !== 'x86_64')
    refuse(`the state is of a ${s.backend} ${s.arch} vCPU, not a KVM x86_64 one`);
  if (s.id !== id) refuse(`the state is vCPU ${s.id}'s; restore each vCPU's state into the vCPU of its id`);
  if (s.lapic && !support.lapic)
    refuse(
      'the saved vCPU had a local APIC but this VM has no in-kernel irqchip: call createIrqchip() before createVcpu()',
    );
  if (!s.lapic && support.lapic)
    refuse(
      'the saved vCPU had no local APIC but this VM has the in-kernel irqchip: set the VM up as the saved one was',
    );
  if (s.fpu.format === 'kvm_xsave' && support.xsaveSize < XSAVE_SIZE)
    refuse(
      "the state holds an XSAVE area but this host's KVM lacks KVM_CAP_XSAVE: restore it on a host that has it",
    );
  if (s.xcrs && !support.xcrs)
    refuse("the state holds XCR0 but this host's KVM lacks KVM_CAP_XCRS: restore it on a host that has it");
}

/** The ioctls of one vCPU fd, each failure a HypervisorCallError naming the call and the vCPU. */
class VcpuIoctls {
  constructor(
    private readonly fd: number,
    private readonly id: number,
  ) {}

  get(name: string, request: number, size: number): Uint8Array {
    const buf = new Uint8Array(size);
    this.set(name, request, buf);
    return buf;
  }

  set(name: string, request: number, buf: Uint8Array): number {
    return check(name, libc().ioctlPtr(this.fd, request, buf), `vCPU ${this.id}`);
  }

  int(name: string, request: number): number {
    return check(name, libc().ioctlInt(this.fd, request, 0), `vCPU ${this.id}`);
  }

  getCpuid(): CpuidEntry[] {
    const buf = allocCpuid2(CPUID_MAX);
    const r = libc().ioctlPtr(this.fd, KVM_GET_CPUID2, buf);
    if (r < 0) throw callError('KVM_GET_CPUID2', lastErrno(), `vCPU ${this.id}`);
    return readCpuid2(buf);
  }

  /**
   * KVM_GET_MSRS of `indices`, leaving out those KVM cannot read on this vCPU (the index list names
   * MSRs whose use depends on the CPUID the guest was given, the PMU's say): KVM_GET_MSRS stops at
   * the first it cannot read and says how many it did, so go on after that one, as Cloud
   * Hypervisor does.
   */
  readableMsrs(indices: readonly number[]): MsrEntry[] {
    const out: MsrEntry[] = [];
    let rest = [...new Set(indices)];
    while (rest.length > 0) {
      const chunk = rest.slice(0, MSR_CHUNK);
      const buf = encodeMsrs(chunk.map((index) => ({ index, data: 0n })));
      const read = this.set('KVM_GET_MSRS', KVM_GET_MSRS, buf);
      out.push(...readMsrs(buf, read));
      rest = rest.slice(read < chunk.length ? read + 1 : read);
    }
    return out;
  }

  setMsrs(entries: readonly MsrEntry[]): void {
    for (let at = 0; at < entries.length; at += MSR_CHUNK) {
      const chunk = entries.slice(at, at + MSR_CHUNK);
      const set = this.set('KVM_SET_MSRS', KVM_SET_MSRS, encodeMsrs(chunk));
      if (set < chunk.length) {
        const bad = chunk[set]!;
        throw new VcpuStateError(
          'EVCPUSTATE',
          `KVM_SET_MSRS on vCPU ${this.id} refused MSR 0x${bad.index.toString(16)} = 0x${bad.data.toString(16)} ` +
            `from the saved state: this host's KVM does not take it; restore on a host with the same CPU and kernel`,
        );
      }
    }
  }

  /** The guest's TSC runs at the saved frequency: scale it where this host's differs (Firecracker). */
  matchTscKhz(saved: number, canScale: boolean): void {
    const here = this.int('KVM_GET_TSC_KHZ', KVM_GET_TSC_KHZ);
    if (Math.abs(here - saved) * 1e6 <= saved * TSC_KHZ_TOLERANCE_PPM) return;
    if (!canScale) {
      throw new VcpuStateError(
        'EVCPUSTATE',
        `vCPU ${this.id} was saved with a ${saved} kHz TSC and this host's runs at ${here} kHz without ` +
          `KVM_CAP_TSC_CONTROL to scale it: restore on a host with the same TSC frequency`,
      );
    }
    check('KVM_SET_TSC_KHZ', libc().ioctlInt(this.fd, KVM_SET_TSC_KHZ, saved), `vCPU ${this.id}`);
  }

  /** EINVAL: the guest has not turned its kvmclock on (Documentation/virt/kvm/api.rst): nothing to tell. */
  kvmclockCtrl(): void {
    if (libc().ioctlInt(this.fd, KVM_KVMCLOCK_CTRL, 0) >= 0) return;
    const errno = lastErrno();
    if (errno !== EINVAL) throw callError('KVM_KVMCLOCK_CTRL', errno, `vCPU ${this.id}`);
  }
}

/** Every ioctl the two functions above make, for the seccomp filter of the vCPU's thread. */
export const VCPU_STATE_IOCTLS: readonly number[] = [
  KVM_GET_CPUID2,
  KVM_GET_DEBUGREGS,
  KVM_GET_FPU,
  KVM_GET_LAPIC,
  KVM_GET_MP_STATE,
  KVM_GET_MSRS,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_GET_TSC_KHZ,
  KVM_GET_VCPU_EVENTS,
  KVM_GET_XCRS,
  KVM_GET_XSAVE,
  KVM_GET_XSAVE2,
  KVM_KVMCLOCK_CTRL,
  KVM_SET_CPUID2,
  KVM_SET_DEBUGREGS,
  KVM_SET_FPU,
  KVM_SET_LAPIC,
  KVM_SET_MP_STATE,
  KVM_SET_MSRS,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  KVM_SET_TSC_KHZ,
  KVM_SET_VCPU_EVENTS,
  KVM_SET_XCRS,
  KVM_SET_XSAVE,
];
