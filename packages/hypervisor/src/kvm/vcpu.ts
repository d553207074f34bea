// KvmVcpu: one vCPU fd and its kvm_run mapping. run() fills preallocated exits (exits.ts).
// kick(): kvm_run.immediate_exit for a run about to start, plus the kick signal (sys/signals.ts)
// for one already blocked in KVM_RUN in another thread. attachKvmVcpu() rebuilds a KvmVcpu over the
// same fd in a worker thread, with its own mapping of the kvm_run page. saveState()/restoreState():
// vcpu-state.ts.
import { VmmError } from '../errors';
import { callError, check } from '../sys/call';
import { EAGAIN, EINTR, ESRCH } from '../sys/errno';
import { hostView, lastErrno, libc, MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE } from '../sys/libc';
import { KickTimer } from '../sys/kick-timer';
import { blockKickSignal, KickReceiver, runSignalMask, sendKick, unblockKickSignal } from '../sys/signals';
import type {
  CpuidEntry,
  MsrEntry,
  Vcpu,
  VcpuSnapshot,
  VcpuThreadLease,
  VmExit,
  X86Fpu,
  X86Regs,
  X86Sregs,
} from '../types';
import {
  KVM_CREATE_VCPU,
  KVM_GET_FPU,
  KVM_GET_LAPIC,
  KVM_GET_MSRS,
  KVM_GET_SREGS,
  KVM_MP_STATE_HALTED,
  KVM_MP_STATE_INIT_RECEIVED,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_UNINITIALIZED,
  KVM_GET_REGS,
  KVM_RUN,
  KVM_SET_CPUID2,
  KVM_SET_FPU,
  KVM_SET_LAPIC,
  KVM_SET_MP_STATE,
  KVM_SET_MSRS,
  KVM_SET_REGS,
  KVM_SET_SIGNAL_MASK,
  KVM_SET_SREGS,
} from './constants';
import { ExitDecoder, INTERRUPTED } from './exits';
import { openKvmStats, readStatsFile } from './stats';
import { encodeCpuid2 } from './structs/cpuid2';
import { FPU_SIZE, readFpu, writeFpuDefaults } from './structs/fpu';
import {
  APIC_LVT_LINT0,
  APIC_LVT_LINT1,
  APIC_MODE_EXTINT,
  APIC_MODE_NMI,
  LAPIC_STATE_SIZE,
  setLvtDeliveryMode,
} from './structs/lapic-state';
import { MP_STATE_SIZE } from './structs/mp-state';
import { encodeMsrs, readMsrs } from './structs/msrs';
import { readRegs, REGS_SIZE, writeRegs } from './structs/regs';
import { RUN_IMMEDIATE_EXIT } from './structs/run';
import { encodeSignalMask } from './structs/signal-mask';
import { readSregs, SREGS_SIZE, writeSregs } from './structs/sregs';
import {
  restoreVcpuState,
  saveVcpuState,
  VCPU_STATE_IOCTLS,
  VcpuStateError,
  type KvmVcpuStateSupport,
} from './vcpu-state';

/** Shared between every attachment of one vCPU: [0] the tid running it (0: none). */
const SHARED_TID = 0;
const SHARED_WORDS = 1;

/** What a worker needs to attach a vCPU. Structured-cloneable. */
export interface KvmVcpuHandle {
  id: number;
  fd: number;
  runSize: number;
  shared: SharedArrayBuffer;
  /** What saving and restoring the vCPU's state needs to know of the host (found by the VM). */
  state: KvmVcpuStateSupport;
}

const MP_STATES = {
  runnable: KVM_MP_STATE_RUNNABLE,
  uninitialized: KVM_MP_STATE_UNINITIALIZED,
  'init-received': KVM_MP_STATE_INIT_RECEIVED,
  halted: KVM_MP_STATE_HALTED,
} as const;

const buffer = (size: number) => {
  const bytes = new Uint8Array(size);
  return { bytes, view: new DataView(bytes.buffer) };
};

export class KvmVcpu implements Vcpu {
  private readonly runAddress: bigint;
  private readonly runView: DataView;
  private readonly decoder: ExitDecoder;
  private readonly tids: Int32Array;
  private readonly regs = buffer(REGS_SIZE);
  private readonly sregs = buffer(SREGS_SIZE);
  private readonly lapic = buffer(LAPIC_STATE_SIZE);
  private readonly mpState = buffer(MP_STATE_SIZE);
  private readonly fpu = buffer(FPU_SIZE);
  /** The thread this object last prepared for KVM_RUN (signal blocked, run mask set). */
  private preparedTid = 0;
  private kicks: KickReceiver | undefined;
  private closed = false;
  /** The owner's KVM statistics file, opened before the vCPU first runs (stats.ts); -1: none. */
  private readonly statsFd: number;

  /**
   * @param owner true for the vCPU the VM created (closes the fd); false for an attachment in
   *   another thread (unmaps only its own kvm_run mapping).
   */
  constructor(
    private readonly handle: KvmVcpuHandle,
    private readonly owner: boolean,
  ) {
    this.id = handle.id;
    this.tids = new Int32Array(handle.shared, 0, SHARED_WORDS);
    this.statsFd = owner ? openKvmStats(handle.fd) : -1;
    const addr = libc().mmap(null, handle.runSize, PROT_READ | PROT_WRITE, MAP_SHARED, handle.fd, 0);
    if (addr === MAP_FAILED || addr === 0n)
      throw callError('mmap', lastErrno(), `kvm_run of vCPU ${handle.id}`);
    this.runAddress = addr;
    const ab = hostView(addr, handle.runSize);
    this.runView = new DataView(ab);
    this.decoder = new ExitDecoder(new Uint8Array(ab), this.runView);
  }

  readonly id: number;

  /** Creates vCPU `id` on a VM fd (KVM_CREATE_VCPU). */
  static create(vmFd: number, id: number, runSize: number, state: KvmVcpuStateSupport): KvmVcpu {
    const fd = check('KVM_CREATE_VCPU', libc().ioctlInt(vmFd, KVM_CREATE_VCPU, id), `vCPU ${id}`);
    const shared = new SharedArrayBuffer(SHARED_WORDS * 4);
    try {
      return new KvmVcpu({ id, fd, runSize, shared, state }, true);
    } catch (e) {
      libc().close(fd);
      throw e;
    }
  }

  run(): VmExit {
    this.assertOpen();
    const c = libc();
    // A JS object lives in one thread: prepare that thread once.
    if (this.preparedTid === 0) this.prepareThread(c.gettid());
    const r = c.ioctlInt(this.handle.fd, KVM_RUN, 0);
    if (r < 0) {
      const errno = lastErrno();
      if (errno !== EINTR && errno !== EAGAIN) throw callError('KVM_RUN', errno, `vCPU ${this.id}`);
      this.runView.setUint8(RUN_IMMEDIATE_EXIT, 0);
      this.kicks!.drain();
      return INTERRUPTED;
    }
    return this.decoder.decode();
  }

  /** First run() on a thread: block the kick signal here, let KVM_RUN unblock it, publish our tid. */
  private prepareThread(tid: number): void {
    this.kicks ??= new KickReceiver();
    blockKickSignal();
    check(
      'KVM_SET_SIGNAL_MASK',
      libc().ioctlPtr(this.handle.fd, KVM_SET_SIGNAL_MASK, encodeSignalMask(runSignalMask())),
    );
    this.preparedTid = tid;
    Atomics.store(this.tids, SHARED_TID, tid);
  }

  /**
   * Run this vCPU from the calling thread for a while (its first exits, before its own thread is
   * ready), kicked by a timer every `tickMs`. release() gives the vCPU back: the timer stopped,
   * its kicks taken, the signal unblocked again, and no thread named for kick() until the next
   * one runs it, so a kick meanwhile only sets immediate_exit for that thread's first run.
   */
  leaseThread(tickMs: number): VcpuThreadLease {
    this.assertOpen();
    const c = libc();
    if (this.preparedTid !== 0)
      throw new VmmError('EVCPUTHREAD', `vCPU ${this.id} has run on a thread already`);
    const tid = c.gettid();
    this.prepareThread(tid);
    let timer: KickTimer;
    try {
      timer = new KickTimer(Math.round(tickMs * 1e6));
    } catch (e) {
      this.releaseThread(tid);
      throw e;
    }
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        timer.close();
        this.releaseThread(tid);
      },
    };
  }

  private releaseThread(tid: number): void {
    Atomics.compareExchange(this.tids, SHARED_TID, tid, 0);
    this.preparedTid = 0;
    this.kicks?.drain();
    unblockKickSignal();
  }

  kick(): void {
    if (this.closed) return;
    this.runView.setUint8(RUN_IMMEDIATE_EXIT, 1);
    const tid = Atomics.load(this.tids, SHARED_TID);
    // No thread runs it yet; or this object's thread does, and is here, not in KVM_RUN: the flag
    // is enough (and a filtered vCPU thread may not send signals).
    if (tid === 0 || tid === this.preparedTid) return;
    try {
      sendKick(tid);
    } catch (e) {
      // The vCPU thread has just ended: nothing to wake.
      if (!(e instanceof VmmError && 'errno' in e && e.errno === ESRCH)) throw e;
    }
  }

  getRegs(): X86Regs {
    this.ioctl('KVM_GET_REGS', KVM_GET_REGS, this.regs.bytes);
    return readRegs(this.regs.view);
  }

  setRegs(regs: X86Regs): void {
    writeRegs(this.regs.view, regs);
    this.ioctl('KVM_SET_REGS', KVM_SET_REGS, this.regs.bytes);
  }

  getSregs(): X86Sregs {
    this.ioctl('KVM_GET_SREGS', KVM_GET_SREGS, this.sregs.bytes);
    return readSregs(this.sregs.view);
  }

  setSregs(sregs: X86Sregs): void {
    // Read first: keeps the fields we do not model (the pending-interrupt bitmap).
    this.ioctl('KVM_GET_SREGS', KVM_GET_SREGS, this.sregs.bytes);
    writeSregs(this.sregs.view, sregs);
    this.ioctl('KVM_SET_SREGS', KVM_SET_SREGS, this.sregs.bytes);
  }

  setCpuid(entries: readonly CpuidEntry[]): void {
    this.ioctl('KVM_SET_CPUID2', KVM_SET_CPUID2, encodeCpuid2(entries));
  }

  setMsrs(entries: readonly MsrEntry[]): void {
    const set = this.ioctl('KVM_SET_MSRS', KVM_SET_MSRS, encodeMsrs(entries));
    if (set < entries.length) {
      const bad = entries[set]!;
      throw new VmmError(
        'EKVMMSR',
        `KVM_SET_MSRS on vCPU ${this.id} refused MSR 0x${bad.index.toString(16)} (value 0x${bad.data.toString(16)}): ` +
          `this host's KVM does not support it; leave it out of the boot MSRs`,
      );
    }
  }

  getMsrs(indices: readonly number[]): MsrEntry[] {
    const buf = encodeMsrs(indices.map((index) => ({ index, data: 0n })));
    const read = this.ioctl('KVM_GET_MSRS', KVM_GET_MSRS, buf);
    if (read < indices.length) {
      throw new VmmError(
        'EKVMMSR',
        `KVM_GET_MSRS on vCPU ${this.id} could not read MSR 0x${indices[read]!.toString(16)}: ` +
          `this host's KVM does not support it`,
      );
    }
    return readMsrs(buf, read);
  }

  getFpu(): X86Fpu {
    this.ioctl('KVM_GET_FPU', KVM_GET_FPU, this.fpu.bytes);
    return readFpu(this.fpu.view);
  }

  getLapic(): Uint8Array {
    this.ioctl('KVM_GET_LAPIC', KVM_GET_LAPIC, this.lapic.bytes);
    return this.lapic.bytes.slice();
  }

  setFpuDefaults(): void {
    writeFpuDefaults(this.fpu.view);
    this.ioctl('KVM_SET_FPU', KVM_SET_FPU, this.fpu.bytes);
  }

  setLapicDefaults(): void {
    this.ioctl('KVM_GET_LAPIC', KVM_GET_LAPIC, this.lapic.bytes);
    setLvtDeliveryMode(this.lapic.view, APIC_LVT_LINT0, APIC_MODE_EXTINT);
    setLvtDeliveryMode(this.lapic.view, APIC_LVT_LINT1, APIC_MODE_NMI);
    this.ioctl('KVM_SET_LAPIC', KVM_SET_LAPIC, this.lapic.bytes);
  }

  setMpState(state: keyof typeof MP_STATES): void {
    this.mpState.view.setUint32(0, MP_STATES[state], true);
    this.ioctl('KVM_SET_MP_STATE', KVM_SET_MP_STATE, this.mpState.bytes);
  }

  stats(): Record<string, number> | undefined {
    this.assertOpen();
    return this.statsFd < 0 ? undefined : readStatsFile(this.statsFd);
  }

  saveState(): VcpuSnapshot {
    this.assertOpen();
    if (this.preparedTid !== 0) this.completePendingExit();
    return saveVcpuState(this.handle.fd, this.id, this.handle.state);
  }

  /**
   * An io or mmio exit is complete only once KVM_RUN is entered again (an `out` leaves RIP on
   * itself, an `in` has its value still to write): KVM_RUN with immediate_exit finishes it and
   * returns at once without running guest code (Documentation/virt/kvm/api.rst, kvm_run
   * immediate_exit; QEMU and Cloud Hypervisor do the same before saving). A kick already waiting
   * stays for the next run().
   */
  private completePendingExit(): void {
    const kicked = this.runView.getUint8(RUN_IMMEDIATE_EXIT);
    this.runView.setUint8(RUN_IMMEDIATE_EXIT, 1);
    const r = libc().ioctlInt(this.handle.fd, KVM_RUN, 0);
    const errno = r < 0 ? lastErrno() : 0;
    this.runView.setUint8(RUN_IMMEDIATE_EXIT, kicked);
    if (r < 0 && errno !== EINTR && errno !== EAGAIN) throw callError('KVM_RUN', errno, `vCPU ${this.id}`);
    if (r >= 0) {
      // Finishing it made another exit: a string io (rep ins/outs) longer than one exit carries.
      throw new VcpuStateError(
        'EVCPUBUSY',
        `vCPU ${this.id} is in the middle of a string I/O instruction: handle its exit, run it on ` +
          `to the next one and save again`,
      );
    }
  }

  restoreState(state: VcpuSnapshot): void {
    this.assertOpen();
    restoreVcpuState(this.handle.fd, this.id, this.handle.state, state);
  }

  attachSpec(): { module: string; exportName: string; handle: KvmVcpuHandle; threadIoctls: number[] } {
    return {
      module: '@vmm/hypervisor',
      exportName: 'attachKvmVcpu',
      handle: { ...this.handle },
      // What run() and cpuState() call in the vCPU's thread (the first run() sets the signal mask),
      // and saveState()/restoreState(), which run there while the vCPU is parked.
      threadIoctls: [
        ...new Set([KVM_RUN, KVM_SET_SIGNAL_MASK, KVM_GET_REGS, KVM_GET_SREGS, ...VCPU_STATE_IOCTLS]),
      ],
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.preparedTid !== 0) Atomics.compareExchange(this.tids, SHARED_TID, this.preparedTid, 0);
    libc().munmap(this.runAddress, this.handle.runSize);
    if (this.owner) {
      Atomics.store(this.tids, SHARED_TID, 0);
      if (this.statsFd >= 0) libc().close(this.statsFd);
      libc().close(this.handle.fd);
    }
  }

  private ioctl(name: string, request: number, arg: Uint8Array): number {
    this.assertOpen();
    return check(name, libc().ioctlPtr(this.handle.fd, request, arg), `vCPU ${this.id}`);
  }

  private assertOpen(): void {
    if (this.closed) throw new VmmError('EVCPUCLOSED', `vCPU ${this.id} was closed: create the VM again`);
  }
}

/** In a worker thread: the vCPU the main thread created, ready to run() here. */
export function attachKvmVcpu(handle: KvmVcpuHandle): KvmVcpu {
  return new KvmVcpu(handle, false);
}
