// The KVM backend on a real /dev/kvm: a 16-byte real-mode guest doing `out` then `hlt`, guest RAM
// shared both ways through memory slots, vCPU state set and read back (MSRs, FPU, LAPIC), the
// irqchip and friends, a vCPU run in a worker thread and kicked out of KVM_RUN from the main
// thread. Interrupts into a guest: interrupts.test.ts.
import { Session } from 'node:inspector/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { KvmHypervisor } from '../../src/kvm/hypervisor';
import {
  APIC_LVT_LINT0,
  APIC_LVT_LINT1,
  APIC_MODE_EXTINT,
  APIC_MODE_NMI,
  lvtDeliveryMode,
} from '../../src/kvm/structs/lapic-state';
import type { KvmVcpu } from '../../src/kvm/vcpu';
import type { KvmVm } from '../../src/kvm/vm';
import { nextMessage, startTsWorker } from '../../src/test-support/ts-worker';
import type { Vcpu, VirtualMachine } from '../../src/types';
import { announceSkip, kvmUsable, softwareEmulated } from './can-run';
import { Kicker } from './kicker';
import { libc } from '../../src/sys/libc';
import { sigsetOf, vcpuKickSignal } from '../../src/sys/signals';

/** Whether this thread blocks the kick signal now. */
function kickSignalBlocked(): boolean {
  const mask = new Uint8Array(128);
  libc().pthreadSigmask(0, null, mask);
  const bit = vcpuKickSignal() - 1;
  return (mask[bit >> 3]! & sigsetOf(vcpuKickSignal())[bit >> 3]!) !== 0;
}

announceSkip('KVM backend: real-mode guest, memory slots, irqchip, vCPU in a worker, kick');

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const CODE = 0x1000;

/** Real mode at CODE: CS and DS with base 0. */
function realMode(vcpu: Vcpu, rip = CODE): void {
  const s = vcpu.getSregs();
  s.cs = { ...s.cs, base: 0n, selector: 0 };
  s.ds = { ...s.ds, base: 0n, selector: 0 };
  vcpu.setSregs(s);
  const r = vcpu.getRegs();
  vcpu.setRegs({ ...r, rip: BigInt(rip), rflags: 2n });
}

describe.skipIf(!kvmUsable)('KVM backend on /dev/kvm', () => {
  let kvm: KvmHypervisor | undefined;
  let vm: VirtualMachine | undefined;
  afterEach(() => {
    vm?.close();
    kvm?.close();
    vm = undefined;
    kvm = undefined;
  });

  it('runs a 16-byte real-mode guest: out (io exit with its data), a read of host-written RAM, a guest write, hlt', () => {
    kvm = new KvmHypervisor();
    vm = kvm.createVm({
      ranges: [
        { gpa: 0, size: 2 * MiB },
        { gpa: 4 * GiB, size: 2 * MiB },
      ],
    });
    // prettier-ignore
    const code = [
      0xba, 0xf8, 0x03,             // mov dx, 0x3f8
      0xb0, 0x41,                   // mov al, 'A'
      0xee,                         // out dx, al
      0xa0, 0x00, 0x20,             // mov al, [0x2000]
      0xee,                         // out dx, al
      0xc6, 0x06, 0x01, 0x20, 0x5a, // mov byte [0x2001], 0x5a
      0xf4,                         // hlt
    ];
    expect(code).toHaveLength(16);
    vm.memory.write(CODE, new Uint8Array(code));
    vm.memory.writeU8(0x2000, 0x7e);
    const vcpu = vm.createVcpu(0);
    realMode(vcpu);

    const e1 = vcpu.run();
    expect(e1).toMatchObject({ kind: 'io', direction: 'out', port: 0x3f8, size: 1, count: 1 });
    expect([...(e1 as { data: Uint8Array }).data]).toEqual([0x41]);
    const e2 = vcpu.run();
    expect([...(e2 as { data: Uint8Array }).data]).toEqual([0x7e]);
    expect(vcpu.run()).toEqual({ kind: 'hlt' });
    expect(vm.memory.readU8(0x2001)).toBe(0x5a);
    expect(vcpu.getRegs().rip).toBe(BigInt(CODE + 16));
  });

  it('an `in` gets the bytes the handler put in the exit data', () => {
    kvm = new KvmHypervisor();
    vm = kvm.createVm({ ranges: [{ gpa: 0, size: MiB }] });
    // in al, 0x60 ; mov [0x2000], al ; hlt
    vm.memory.write(CODE, new Uint8Array([0xe4, 0x60, 0xa2, 0x00, 0x20, 0xf4]));
    const vcpu = vm.createVcpu(0);
    realMode(vcpu);
    const e = vcpu.run();
    expect(e).toMatchObject({ kind: 'io', direction: 'in', port: 0x60, size: 1 });
    (e as { data: Uint8Array }).data[0] = 0x99;
    expect(vcpu.run()).toEqual({ kind: 'hlt' });
    expect(vm.memory.readU8(0x2000)).toBe(0x99);
  });

  it('MSRs read back (KVM_GET_MSRS) as set, in the order asked; the TSC from where it was set', () => {
    kvm = new KvmHypervisor();
    vm = kvm.createVm({ ranges: [{ gpa: 0, size: MiB }] });
    const vcpu = vm.createVcpu(0);
    const msrs = [
      { index: 0xc0000081, data: 0x0023_0010_0000_0000n }, // STAR
      { index: 0xc0000082, data: 0xffff_ffff_8100_0000n }, // LSTAR
      { index: 0xc0000084, data: 0x4_7700n }, // SYSCALL_MASK
      { index: 0xc0000102, data: 0xffff_8880_0000_0000n }, // KERNEL_GS_BASE
      { index: 0x174, data: 0x10n }, // SYSENTER_CS
      { index: 0x2ff, data: 0x806n }, // MTRR_DEF_TYPE: enabled, write-back
    ];
    vcpu.setMsrs(msrs);
    expect(vcpu.getMsrs(msrs.map((m) => m.index).reverse())).toEqual([...msrs].reverse());
    // IA32_TIME_STAMP_COUNTER runs on from where it was set; under kvm_pvm the guest's TSC is the
    // host's, which a write does not move (so a restored guest's TSC is the host's there).
    const before = vcpu.getMsrs([0x10])[0]!.data;
    const target = before + 10n ** 12n;
    vcpu.setMsrs([{ index: 0x10, data: target }]);
    const after = vcpu.getMsrs([0x10])[0]!.data;
    if (softwareEmulated) expect(after).toBeLessThan(target);
    else expect(after).toBeGreaterThanOrEqual(target);
  });

  it('FPU: KVM_GET_FPU shows the FCW the guest loaded; the FCW of setFpuDefaults reaches the guest', () => {
    kvm = new KvmHypervisor();
    vm = kvm.createVm({ ranges: [{ gpa: 0, size: MiB }] });
    // FXSAVE/FXRSTOR rather than fldcw, fnstcw and stmxcsr: software-emulated KVM (kvm_pvm) does not
    // emulate those three (shared/testing.md), and the FXSAVE area holds FCW (+0) and MXCSR (+24).
    // prettier-ignore
    vm.memory.write(CODE, new Uint8Array([
      0x0f, 0xae, 0x06, 0x00, 0x24, // fxsave [0x2400]: the state a new vCPU starts with
      0x0f, 0xae, 0x0e, 0x00, 0x20, // fxrstor [0x2000]: FCW 0x027f
      0xf4,                         // hlt
      0x0f, 0xae, 0x06, 0x00, 0x22, // fxsave [0x2200]
      0xf4,                         // hlt
    ]));
    vm.memory.writeU16(0x2000, 0x027f); // 53-bit precision
    vm.memory.writeU32(0x2000 + 24, 0x1f80); // a valid MXCSR in the area fxrstor loads
    const vcpu = vm.createVcpu(0);
    vcpu.setCpuid(vm.supportedCpuid()); // FXSR
    realMode(vcpu);
    vcpu.setSregs({ ...vcpu.getSregs(), cr4: 0x200n }); // OSFXSR
    expect(vcpu.run()).toEqual({ kind: 'hlt' });
    expect(vcpu.getFpu()).toMatchObject({ fcw: 0x027f });
    // MXCSR, which neither KVM_SET_FPU nor KVM_GET_FPU carries: a new vCPU has what Linux expects.
    expect(vm.memory.readU32(0x2400 + 24)).toBe(0x1f80);
    vcpu.setFpuDefaults();
    const fpu = vcpu.getFpu();
    expect(fpu).toMatchObject({ fcw: 0x37f, fsw: 0, ftwx: 0 });
    expect([fpu.fpr.length, fpu.xmm.length]).toEqual([128, 256]);
    expect(vcpu.run()).toEqual({ kind: 'hlt' });
    expect(vm.memory.readU16(0x2200)).toBe(0x37f); // the guest sees it
  });

  it('LAPIC (KVM_GET_LAPIC): LINT0 ExtINT and LINT1 NMI after setLapicDefaults, not before', () => {
    kvm = new KvmHypervisor();
    vm = kvm.createVm({ ranges: [{ gpa: 0, size: MiB }] });
    vm.createIrqchip();
    const vcpu = vm.createVcpu(0);
    const lint1 = () => lvtDeliveryMode(new DataView(vcpu.getLapic().buffer), APIC_LVT_LINT1);
    expect(lint1()).not.toBe(APIC_MODE_NMI);
    vcpu.setLapicDefaults();
    const lapic = new DataView(vcpu.getLapic().buffer);
    expect(lvtDeliveryMode(lapic, APIC_LVT_LINT0)).toBe(APIC_MODE_EXTINT);
    expect(lvtDeliveryMode(lapic, APIC_LVT_LINT1)).toBe(APIC_MODE_NMI);
  });

  it('irqchip, PIT, CPUID, MP state, irqfd and IRQ lines accepted; an ioeventfd catches an out without an exit', () => {
    kvm = new KvmHypervisor();
    vm = kvm.createVm({ ranges: [{ gpa: 0, size: MiB }] });
    vm.createIrqchip();
    const cpuid = vm.supportedCpuid();
    expect(cpuid.length).toBeGreaterThan(5);
    expect(cpuid.some((e) => e.function === 0)).toBe(true);
    const vcpu = vm.createVcpu(0);
    vcpu.setCpuid(cpuid);
    vcpu.setMpState('runnable');
    const irq = vm.createEventNotifier();
    vm.registerIrqFd(irq, 5);
    vm.setIrqLine(4, true);
    vm.setIrqLine(4, false);
    const doorbell = vm.createEventNotifier();
    vm.registerIoEvent(doorbell, 0x80, 'pio', 1);
    // out 0x80, al ; out 0x81, al (this one exits)
    vm.memory.write(CODE, new Uint8Array([0xe6, 0x80, 0xe6, 0x81, 0xf4]));
    realMode(vcpu);
    expect(vcpu.run()).toMatchObject({ kind: 'io', port: 0x81 });
    expect(doorbell.drain()).toBe(1n);
    vm.unregisterIoEvent(doorbell, 0x80, 'pio', 1);
    expect(() => vm!.setIrqLine(99, true)).toThrow(/GSI 99/);
  });

  /** A VM whose vCPU 0 runs `out 0x70, al ; jmp $` (spins: no exit of its own after the out). */
  function spinningVm(): { theVm: KvmVm; vcpu: KvmVcpu } {
    kvm = new KvmHypervisor();
    const theVm = kvm.createVm({ ranges: [{ gpa: 0, size: MiB }] }) as KvmVm;
    vm = theVm;
    vm.memory.write(CODE, new Uint8Array([0xe6, 0x70, 0xeb, 0xfe]));
    const vcpu = vm.createVcpu(0) as KvmVcpu;
    realMode(vcpu);
    return { theVm, vcpu };
  }

  /** Run the vCPU in a worker until a kick from this thread ends its KVM_RUN: the ports it saw. */
  async function runInWorkerUntilKicked(
    theVm: KvmVm,
    vcpu: KvmVcpu,
  ): Promise<{ kind: string; ports: number[] }> {
    const spec = vcpu.attachSpec();
    const lease = theVm.memory.lend();
    expect(spec).toMatchObject({ module: '@vmm/hypervisor', exportName: 'attachKvmVcpu' });
    const worker = startTsWorker(new URL('./vcpu-run-worker.ts', import.meta.url), {
      workerData: { vcpu: spec.handle, memory: lease.handle },
    });
    try {
      expect(await nextMessage(worker)).toEqual({ ready: true, firstByte: 0xe6 });
      const result = nextMessage<{ kind: string; ports: number[] }>(worker);
      await new Promise((r) => setTimeout(r, 300)); // let it block in KVM_RUN
      vcpu.kick();
      return await result;
    } finally {
      await worker.terminate();
      lease.release();
    }
  }

  it('a vCPU attached in a worker thread runs there and a kick from the main thread ends its KVM_RUN', async () => {
    const { theVm, vcpu } = spinningVm();
    expect(await runInWorkerUntilKicked(theVm, vcpu)).toEqual({ kind: 'interrupted', ports: [0x70] });
  });

  it('a thread that leases the vCPU has its KVM_RUN ended by the lease timer while the guest spins; released, a worker runs it and a kick reaches that worker', async () => {
    const { theVm, vcpu } = spinningVm();
    // A watchdog for this thread: if the lease's timer did not kick it, the run would never end.
    const kicker = await Kicker.start();
    try {
      const lease = vcpu.leaseThread(2);
      const kinds = kicker.during(30_000, () => {
        // The timer may end a run before the guest's `out` too: the first entry is slow in the
        // nested-KVM VM (CI, 2026-12-05: interrupted, interrupted, io).
        const seen: string[] = [];
        while (seen.length < 20 && !seen.includes('io')) seen.push(vcpu.run().kind);
        seen.push(vcpu.run().kind, vcpu.run().kind);
        return seen;
      });
      lease.release();
      const io = kinds.indexOf('io');
      expect(io, kinds.join()).toBeGreaterThanOrEqual(0);
      expect(
        kinds.filter((k, i) => i !== io && k !== 'interrupted'),
        kinds.join(),
      ).toEqual([]);
      expect(kinds.slice(io + 1)).toEqual(['interrupted', 'interrupted']); // the spin, ended twice
      expect(kicker.kicks).toBe(0);
      expect(kickSignalBlocked()).toBe(false); // given back as it was
    } finally {
      await kicker.stop();
    }
    expect(await runInWorkerUntilKicked(theVm, vcpu)).toEqual({ kind: 'interrupted', ports: [] });
  });

  it('a kick before run() makes the next run() return interrupted', () => {
    kvm = new KvmHypervisor();
    vm = kvm.createVm({ ranges: [{ gpa: 0, size: MiB }] });
    vm.memory.write(CODE, new Uint8Array([0xf4]));
    const vcpu = vm.createVcpu(0);
    realMode(vcpu);
    vcpu.kick();
    expect(vcpu.run()).toEqual({ kind: 'interrupted' });
    expect(vcpu.run()).toEqual({ kind: 'hlt' });
  });

  it("creates VMs while a CPU profiler's SIGPROF interrupts this thread every 50 µs (KVM_CREATE_VM runs with signals blocked)", async () => {
    // Made with signals open, 77-93 of 100 creates failed with EINTR in the nested-KVM VM; made
    // again on EINTR up to 1000 times, one of 30 still failed there (CI, 2026-12-04).
    const session = new Session();
    session.connect();
    try {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 50 });
      await session.post('Profiler.start');
      kvm = new KvmHypervisor();
      for (let i = 0; i < 30; i++) kvm.createVm({ ranges: [{ gpa: 0, size: MiB }] }).close();
      const { profile } = await session.post('Profiler.stop');
      expect(profile.samples?.length ?? 0).toBeGreaterThan(0); // the profiler's signals did come
    } finally {
      session.disconnect();
    }
  });
});
