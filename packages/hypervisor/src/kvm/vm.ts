// KvmVm: a VM fd, its guest RAM (one memfd, one memory slot per layout range), the in-kernel
// irqchip and PIT, interrupt lines, ioeventfds and irqfds. saveState()/restoreState(): vm-state.ts;
// what its vCPUs need to save theirs is found here once (vcpuStateSupport).
import { VmmError } from '../errors';
import { MemfdGuestMemory } from '../memory/memfd-guest-memory';
import { check, retryInterrupted } from '../sys/call';
import { libc } from '../sys/libc';
import { withSignalsBlocked } from '../sys/signals';
import type {
  CpuidEntry,
  EventNotifier,
  MachineSnapshot,
  MemoryLayout,
  Vcpu,
  VirtualMachine,
} from '../types';
import {
  KVM_CAP_ADJUST_CLOCK,
  KVM_CAP_GET_TSC_KHZ,
  KVM_CAP_KVMCLOCK_CTRL,
  KVM_CAP_TSC_CONTROL,
  KVM_CAP_XCRS,
  KVM_CAP_XSAVE,
  KVM_CAP_XSAVE2,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_IRQCHIP,
  KVM_CREATE_PIT2,
  KVM_CREATE_VM,
  KVM_IOEVENTFD,
  KVM_IOEVENTFD_FLAG_DATAMATCH,
  KVM_IOEVENTFD_FLAG_DEASSIGN,
  KVM_IOEVENTFD_FLAG_PIO,
  KVM_IRQ_LINE,
  KVM_IRQFD,
  KVM_PIT_SPEAKER_DUMMY,
  KVM_SET_IDENTITY_MAP_ADDR,
  KVM_SET_TSS_ADDR,
  KVM_SET_USER_MEMORY_REGION,
} from './constants';
import { EventfdNotifier } from './event-notifier';
import { openKvmStats, readStatsFile } from './stats';
import { encodeIoeventfd } from './structs/ioeventfd';
import { IRQ_LEVEL_SIZE, writeIrqLevel } from './structs/irq-level';
import { encodeIrqfd } from './structs/irqfd';
import { encodePitConfig } from './structs/pit-config';
import { USERSPACE_MEMORY_REGION_SIZE, writeUserspaceMemoryRegion } from './structs/userspace-memory-region';
import type { KvmSystem } from './system';
import { KvmVcpu } from './vcpu';
import { MTRR_MSRS, type KvmVcpuStateSupport } from './vcpu-state';
import { restoreMachineState, saveMachineState, type KvmMachineStateSupport } from './vm-state';
import { XSAVE_SIZE } from './structs/xsave';

/**
 * Intel VMX needs three pages for the real-mode TSS and one for the identity-map page table, in
 * guest-physical space the guest does not use: just below the 4 GiB BIOS area, as QEMU, Firecracker
 * and Cloud Hypervisor place them (Documentation/virt/kvm/api.rst, KVM_SET_TSS_ADDR).
 */
export const KVM_IDENTITY_MAP_ADDR = 0xfffbc000;
export const KVM_TSS_ADDR = 0xfffbd000;

/** The highest GSI the in-kernel IOAPIC routes by default (24 pins). */
const MAX_GSI = 23;

export class KvmVm implements VirtualMachine {
  readonly memory: MemfdGuestMemory;
  private readonly vcpus: KvmVcpu[] = [];
  private readonly notifiers: EventNotifier[] = [];
  private readonly irqLevel = new Uint8Array(IRQ_LEVEL_SIZE);
  private readonly irqLevelView = new DataView(this.irqLevel.buffer);
  private irqchip = false;
  /** Asked of KVM when the VM is made: /dev/kvm may be closed before vCPUs are created. */
  private stateSupport!: Omit<KvmVcpuStateSupport, 'lapic'>;
  private closed = false;
  /** The VM's KVM statistics file, opened on first use; -1: the kernel has none. */
  private statsFd: number | undefined;

  private constructor(
    private readonly system: KvmSystem,
    readonly fd: number,
    memory: MemfdGuestMemory,
    private readonly runSize: number,
  ) {
    this.memory = memory;
  }

  static create(system: KvmSystem, layout: MemoryLayout): KvmVm {
    const memory = MemfdGuestMemory.create(layout);
    let fd = -1;
    try {
      const runSize = system.vcpuMmapSize();
      fd = check(
        'KVM_CREATE_VM',
        // Blocked signals: registering the VM's MMU notifier gives up (EINTR) on any pending one.
        retryInterrupted(() => withSignalsBlocked(() => libc().ioctlInt(system.fd, KVM_CREATE_VM, 0))),
      );
      const vm = new KvmVm(system, fd, memory, runSize);
      vm.setup();
      return vm;
    } catch (e) {
      if (fd >= 0) libc().close(fd);
      memory.close();
      throw e;
    }
  }

  private setup(): void {
    const c = libc();
    const slot = new Uint8Array(USERSPACE_MEMORY_REGION_SIZE);
    const slotView = new DataView(slot.buffer);
    this.memory.hostRanges().forEach((r, i) => {
      writeUserspaceMemoryRegion(slotView, {
        slot: i,
        flags: 0,
        guestPhysAddr: r.gpa,
        memorySize: r.size,
        userspaceAddr: r.hostAddress,
      });
      check('KVM_SET_USER_MEMORY_REGION', c.ioctlPtr(this.fd, KVM_SET_USER_MEMORY_REGION, slot), `slot ${i}`);
    });
    const identity = new Uint8Array(8);
    new DataView(identity.buffer).setBigUint64(0, BigInt(KVM_IDENTITY_MAP_ADDR), true);
    check('KVM_SET_IDENTITY_MAP_ADDR', c.ioctlPtr(this.fd, KVM_SET_IDENTITY_MAP_ADDR, identity));
    check('KVM_SET_TSS_ADDR', c.ioctlInt(this.fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR));
    this.stateSupport = this.askStateSupport();
  }

  createVcpu(id: number): Vcpu {
    this.assertOpen();
    const vcpu = KvmVcpu.create(this.fd, id, this.runSize, this.vcpuStateSupport());
    this.vcpus.push(vcpu);
    return vcpu;
  }

  createIrqchip(): void {
    this.assertOpen();
    check('KVM_CREATE_IRQCHIP', libc().ioctlInt(this.fd, KVM_CREATE_IRQCHIP, 0));
    check(
      'KVM_CREATE_PIT2',
      libc().ioctlPtr(this.fd, KVM_CREATE_PIT2, encodePitConfig(KVM_PIT_SPEAKER_DUMMY)),
    );
    this.irqchip = true;
  }

  stats(): Record<string, number> | undefined {
    if (this.closed) return undefined;
    this.statsFd ??= openKvmStats(this.fd);
    return this.statsFd < 0 ? undefined : readStatsFile(this.statsFd);
  }

  saveState(): MachineSnapshot {
    this.assertOpen();
    return saveMachineState(this.fd, this.machineStateSupport());
  }

  restoreState(state: MachineSnapshot): void {
    this.assertOpen();
    restoreMachineState(this.fd, this.machineStateSupport(), state);
  }

  private machineStateSupport(): KvmMachineStateSupport {
    return { irqchip: this.irqchip, clockFlags: this.checkExtension(KVM_CAP_ADJUST_CLOCK) };
  }

  /** What this VM's vCPUs need to save and restore their state. */
  private vcpuStateSupport(): KvmVcpuStateSupport {
    return { ...this.stateSupport, msrs: [...this.stateSupport.msrs], lapic: this.irqchip };
  }

  private askStateSupport(): Omit<KvmVcpuStateSupport, 'lapic'> {
    const sys = this.system;
    // KVM_CAP_XSAVE2 is asked of the VM: the size can depend on what the process enabled
    // (arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM)); 0 where the kernel predates it (5.17).
    const xsave2Size = this.checkExtension(KVM_CAP_XSAVE2);
    const xsave = sys.checkExtension(KVM_CAP_XSAVE) > 0;
    return {
      msrs: [...new Set([...sys.msrIndexList(), ...MTRR_MSRS])],
      xsaveSize: xsave2Size >= XSAVE_SIZE ? xsave2Size : xsave ? XSAVE_SIZE : 0,
      xsave2: xsave2Size >= XSAVE_SIZE,
      xcrs: sys.checkExtension(KVM_CAP_XCRS) > 0,
      getTscKhz: sys.checkExtension(KVM_CAP_GET_TSC_KHZ) > 0,
      setTscKhz: sys.checkExtension(KVM_CAP_TSC_CONTROL) > 0,
      kvmclockCtrl: sys.checkExtension(KVM_CAP_KVMCLOCK_CTRL) > 0,
    };
  }

  /** KVM_CHECK_EXTENSION on the VM fd: 0 when absent. */
  private checkExtension(cap: number): number {
    const r = libc().ioctlInt(this.fd, KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
  }

  setIrqLine(gsi: number, level: boolean): void {
    checkGsi(gsi);
    writeIrqLevel(this.irqLevelView, gsi, level);
    check('KVM_IRQ_LINE', libc().ioctlPtr(this.fd, KVM_IRQ_LINE, this.irqLevel), `GSI ${gsi}`);
  }

  registerIoEvent(
    notifier: EventNotifier,
    address: number,
    space: 'mmio' | 'pio',
    len: number,
    value?: number,
  ): void {
    this.ioEvent(notifier, address, space, len, value, 0);
  }

  unregisterIoEvent(
    notifier: EventNotifier,
    address: number,
    space: 'mmio' | 'pio',
    len: number,
    value?: number,
  ): void {
    this.ioEvent(notifier, address, space, len, value, KVM_IOEVENTFD_FLAG_DEASSIGN);
  }

  private ioEvent(
    notifier: EventNotifier,
    address: number,
    space: 'mmio' | 'pio',
    len: number,
    value: number | undefined,
    flags: number,
  ): void {
    if (![1, 2, 4, 8].includes(len) && !(len === 0 && value === undefined)) {
      throw new VmmError(
        'EIOEVENT',
        `an ioeventfd is 1, 2, 4 or 8 bytes wide (or 0 for any width), not ${len}`,
      );
    }
    if (!Number.isSafeInteger(address) || address < 0 || (space === 'pio' && address > 0xffff)) {
      throw new VmmError(
        'EIOEVENT',
        `ioeventfd address 0x${address.toString(16)} is not a valid ${space} address`,
      );
    }
    if (space === 'pio') flags |= KVM_IOEVENTFD_FLAG_PIO;
    if (value !== undefined) flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    const arg = encodeIoeventfd({
      datamatch: BigInt(value ?? 0),
      addr: address,
      len,
      fd: notifier.fd,
      flags,
    });
    check(
      'KVM_IOEVENTFD',
      libc().ioctlPtr(this.fd, KVM_IOEVENTFD, arg),
      `${space} 0x${address.toString(16)}`,
    );
  }

  registerIrqFd(notifier: EventNotifier, gsi: number): void {
    checkGsi(gsi);
    check('KVM_IRQFD', libc().ioctlPtr(this.fd, KVM_IRQFD, encodeIrqfd(notifier.fd, gsi, 0)), `GSI ${gsi}`);
  }

  createEventNotifier(): EventNotifier {
    const n = EventfdNotifier.create();
    this.notifiers.push(n);
    return n;
  }

  supportedCpuid(): CpuidEntry[] {
    return this.system.supportedCpuid();
  }

  /** Closes the vCPUs, the VM, its notifiers and guest RAM. Stop vCPU workers first. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const v of this.vcpus) v.close();
    for (const n of this.notifiers) n.close();
    if (this.statsFd !== undefined && this.statsFd >= 0) libc().close(this.statsFd);
    libc().close(this.fd);
    this.memory.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new VmmError('EVMCLOSED', 'the VM was closed: create a new one');
  }
}

function checkGsi(gsi: number): void {
  if (!Number.isInteger(gsi) || gsi < 0 || gsi > MAX_GSI) {
    throw new VmmError('EGSI', `GSI ${gsi} is outside the IOAPIC's 0..${MAX_GSI}`);
  }
}
