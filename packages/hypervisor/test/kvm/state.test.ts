// Saving and restoring the whole KVM state of a VM and its vCPU on a real /dev/kvm, with the guest
// of state-guest.ts: stopped at its `out` with registers, MSRs, xmm3, the x87 control word, MXCSR,
// DR0, the PICs, an IOAPIC entry and a counting LAPIC timer all set, its state saved, encoded and
// decoded, restored into a brand-new VM, it runs on to the result of a run that was never stopped
// (the timer fires there and the handler reads it all back). Once in this thread, once with the
// save and the restore each in a vCPU thread under the seccomp filter the vCPU asks for. Then: a
// restored state saves back the same, part by part; a corrupt encoding is refused.
import type { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as K from '../../src/kvm/constants';
import {
  KVM_IRQCHIP_IOAPIC,
  KVM_IRQCHIP_PIC_MASTER,
  KVM_IRQCHIP_PIC_SLAVE,
  KVM_MP_STATE_HALTED,
} from '../../src/kvm/constants';
import { KvmHypervisor } from '../../src/kvm/hypervisor';
import {
  decodeHypervisorState,
  encodeHypervisorState,
  STATE_HEADER_SIZE,
  StateDecodeError,
} from '../../src/kvm/state-codec';
import { readClockData } from '../../src/kvm/structs/clock-data';
import { ioapicRedirection, irqchipId, picImr } from '../../src/kvm/structs/irqchip';
import { lapicRegister } from '../../src/kvm/structs/lapic-state';
import { PIT_CHANNELS, pitCountLoadTimeOffset } from '../../src/kvm/structs/pit-state2';
import { readRegs } from '../../src/kvm/structs/regs';
import { readXcr } from '../../src/kvm/structs/xcrs';
import { VCPU_EVENTS_LAYOUT } from '../../src/kvm/structs/vcpu-events';
import { XSAVE_FCW, XSAVE_MXCSR, XSAVE_XMM } from '../../src/kvm/structs/xsave';
import type { KvmVcpu } from '../../src/kvm/vcpu';
import { MSR_IA32_TSC, MSR_IA32_TSC_DEADLINE, VcpuStateError } from '../../src/kvm/vcpu-state';
import type { KvmVm } from '../../src/kvm/vm';
import { MachineStateError } from '../../src/kvm/vm-state';
import { libc } from '../../src/sys/libc';
import { startTsWorker } from '../../src/test-support/ts-worker';
import type { MachineSnapshot, VcpuSnapshot } from '../../src/types';
import { announceSkip, kvmUsable } from './can-run';
import { Kicker } from './kicker';
import {
  DR0,
  EBX,
  enterGuest,
  expectedOut,
  FCW,
  FX_EXPECTED,
  FX_OUT_OFFSET,
  fxImageOf,
  IN_VALUE,
  IOAPIC_ENTRY,
  IOAPIC_PIN,
  loadGuest,
  MAIN_AFTER_IN,
  MXCSR,
  OUT,
  OUT_SIZE,
  PAT,
  PAT_VALUE,
  PIT_COUNT,
  PORT,
  SYSENTER_ESP,
  SYSENTER_ESP_VALUE,
  TIMER_COUNT,
  TIMER_VECTOR,
  XCR0,
  XMM,
} from './state-guest';

announceSkip(
  'KVM state: a guest saved mid-run (VM and vCPU) restored into a new VM runs on to the same result',
);

const MiB = 1024 * 1024;
const LAYOUT = { ranges: [{ gpa: 0, size: MiB }] };
/** Longer than any run here takes, even on software-emulated KVM. */
const WATCHDOG_MS = 30_000;

/** A VM with the irqchip and vCPU 0, given the CPUID KVM supports as the monitor does. */
function newVm(kvm: KvmHypervisor): { vm: KvmVm; vcpu: KvmVcpu } {
  const vm = kvm.createVm(LAYOUT) as KvmVm;
  vm.createIrqchip();
  const vcpu = vm.createVcpu(0) as KvmVcpu;
  return { vm, vcpu };
}

/** A VM with the guest loaded and its vCPU at the first instruction (CPUID set: fxrstor needs FXSR). */
function guestVm(kvm: KvmHypervisor): { vm: KvmVm; vcpu: KvmVcpu } {
  const g = newVm(kvm);
  g.vcpu.setCpuid(g.vm.supportedCpuid());
  g.vcpu.setLapicDefaults();
  loadGuest(g.vm.memory);
  enterGuest(g.vcpu);
  return g;
}

/** OUT as the program left it: the scalars as planned, the fxsave image with what it set. */
function expectOut(out: Uint8Array): void {
  expect([...out.subarray(0, FX_OUT_OFFSET)]).toEqual([...expectedOut()]);
  expect(fxImageOf(out.subarray(FX_OUT_OFFSET))).toEqual(FX_EXPECTED);
}

let kicker: Kicker;

/**
 * Runs `vcpu` in this thread to its next access to PORT: returns the byte an `out` wrote, or 'in'
 * for an `in`, answered with `inValue`. Any other exit but io fails, with what KVM said (an
 * internal error names the instruction); a guest that does not get there in WATCHDOG_MS is kicked.
 */
function runToPort(vcpu: KvmVcpu, inValue = IN_VALUE): number | 'in' {
  return kicker.during(WATCHDOG_MS, () => {
    for (;;) {
      const exit = vcpu.run();
      if (exit.kind === 'io' && exit.port === PORT) {
        if (exit.direction === 'out') return exit.data[0]!;
        exit.data[0] = inValue;
        return 'in';
      }
      if (exit.kind === 'io') continue;
      if (exit.kind === 'interrupted')
        throw new Error(`the guest did not reach port 0x${PORT.toString(16)} in ${WATCHDOG_MS} ms`);
      throw new Error(
        `the guest stopped: ${JSON.stringify(exit, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`,
      );
    }
  });
}

/** Runs `vcpu` until a kick after `ms` (the guest sits in hlt meanwhile); any exit first fails. */
function runUntilKicked(vcpu: KvmVcpu, ms: number): void {
  const exit = kicker.during(ms, () => vcpu.run());
  expect(exit.kind, 'the guest waits in hlt until kicked').toBe('interrupted');
}

const outOf = (vm: KvmVm) => vm.memory.slice(OUT, OUT_SIZE)!.slice();
const ramOf = (vm: KvmVm) => vm.memory.regions.map((r) => ({ gpa: r.gpa, bytes: r.bytes.slice() }));
const u32 = (b: Uint8Array, at: number) =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);

/** The saved vCPU holds what the guest set before it said 1 (each check names its part). */
function expectGuestState(v: VcpuSnapshot, m: MachineSnapshot): void {
  const regs = readRegs(new DataView(v.regs.buffer));
  expect(regs.rbx, 'kvm_regs').toBe(BigInt(EBX));
  expect(v.msrs.find((e) => e.index === SYSENTER_ESP)?.data, 'MSRs').toBe(SYSENTER_ESP_VALUE);
  expect(v.msrs.find((e) => e.index === PAT)?.data, 'MSRs').toBe(PAT_VALUE);
  expect(v.fpu.format).toBe('kvm_xsave');
  // The XSAVE area starts with the FXSAVE image (Intel SDM Vol. 1 §13.4.1).
  expect(fxImageOf(v.fpu.bytes.subarray(0, 512)), 'x87 and SSE in the XSAVE area').toEqual(FX_EXPECTED);
  expect(u32(v.fpu.bytes, XSAVE_FCW) & 0xffff).toBe(FCW);
  expect(u32(v.fpu.bytes, XSAVE_MXCSR)).toBe(MXCSR);
  expect([...v.fpu.bytes.subarray(XSAVE_XMM, XSAVE_XMM + 128)]).toEqual([...XMM]);
  expect(new DataView(v.debugRegs.buffer).getBigUint64(0, true), 'DR0').toBe(BigInt(DR0));
  expect(readXcr(new DataView(v.xcrs!.buffer), 0), 'XCR0').toBe(BigInt(XCR0));
  const lapic = new DataView(v.lapic!.buffer);
  expect(lapicRegister(lapic, 0x320), 'LVT timer').toBe(TIMER_VECTOR);
  expect(lapicRegister(lapic, 0x380), 'timer initial count').toBe(TIMER_COUNT);
  const current = lapicRegister(lapic, 0x390);
  expect(current > 0 && current <= TIMER_COUNT, `timer still counting (${current})`).toBe(true);
  expect(v.mpState, 'MP state runnable').toBe(0);
  expect(v.events[VCPU_EVENTS_LAYOUT.fields['nmi.masked']!], 'NMIs blocked').toBe(1);
  expect(v.cpuid.length).toBeGreaterThan(5);
  expect(
    m.irqchip && [irqchipId(m.irqchip.picMaster), irqchipId(m.irqchip.picSlave), irqchipId(m.irqchip.ioapic)],
  ).toEqual([KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC]);
  expect([picImr(m.irqchip!.picMaster), picImr(m.irqchip!.picSlave)], 'PICs masked').toEqual([0xff, 0xff]);
  expect(ioapicRedirection(m.irqchip!.ioapic, IOAPIC_PIN) & 0xffffffffn, 'IOAPIC entry').toBe(IOAPIC_ENTRY);
  const pit = new DataView(m.pit!.buffer);
  expect([pit.getUint32(0, true), pit.getUint8(13)], 'PIT channel 0 count and mode').toEqual([PIT_COUNT, 2]);
}

/**
 * Inside the nested-KVM VM (kvm_amd under QEMU TCG), first run there 2026-12-02: the saved XCR0 is
 * 1 where the guest set 3, and a restored vCPU's MSRs differ from the saved ones in more than the
 * TSC. These three pass on a software-emulated KVM host; skipped there, loudly, until understood
 * (docs/testing.md names them).
 */
const NESTED = process.env.VMM_NESTED_HOST === '1';
if (kvmUsable && NESTED) {
  console.log(
    'SKIP tier 2: KVM state save/restore round trips (XCR0, MSRs) inside the nested-KVM VM (known failures there, under investigation; see docs/testing.md)',
  );
}

describe.skipIf(!kvmUsable)('KVM state save and restore', () => {
  beforeAll(async () => {
    kicker = await Kicker.start();
  }, 120_000);
  afterAll(() => kicker?.stop());
  let kvm: KvmHypervisor | undefined;
  const vms: KvmVm[] = [];
  afterEach(() => {
    for (const vm of vms.splice(0)) vm.close();
    kvm?.close();
    kvm = undefined;
  });
  const track = <T extends { vm: KvmVm }>(g: T): T => (vms.push(g.vm), g);

  it.skipIf(NESTED)(
    'a guest stopped at an in and saved with its VM runs on, in a new VM, to the result of a run never stopped',
    async () => {
      kvm = new KvmHypervisor();
      const ref = track(guestVm(kvm));
      expect(runToPort(ref.vcpu)).toBe('in');
      expect(runToPort(ref.vcpu)).toBe(2);
      const reference = outOf(ref.vm);
      expectOut(reference);

      const a = track(guestVm(kvm));
      expect(runToPort(a.vcpu)).toBe('in');
      const saved = { vcpus: [a.vcpu.saveState()], machine: a.vm.saveState() };
      const ram = ramOf(a.vm);
      // The save completed the `in` (KVM writes AL on the next KVM_RUN): RIP is past it, AL holds
      // the answer. Run again, the `in` would get another answer (a device does not answer twice).
      const regs = readRegs(new DataView(saved.vcpus[0]!.regs.buffer));
      expect(regs.rip).toBe(BigInt(MAIN_AFTER_IN));
      expect(regs.rax & 0xffn).toBe(BigInt(IN_VALUE));
      expectGuestState(saved.vcpus[0]!, saved.machine);
      a.vm.close();

      const back = decodeHypervisorState(encodeHypervisorState(saved));
      expect(back).toEqual(saved);
      const b = track(newVm(kvm));
      for (const r of ram) b.vm.memory.write(r.gpa, r.bytes);
      b.vm.restoreState(back.machine);
      b.vcpu.restoreState(back.vcpus[0]!);
      expect(runToPort(b.vcpu, IN_VALUE ^ 0xff)).toBe(2);
      expect([...outOf(b.vm)]).toEqual([...reference]);
    },
    120_000,
  );

  it.skipIf(NESTED)(
    'the same with the save and the restore each in a vCPU thread, under its seccomp filter',
    async () => {
      kvm = new KvmHypervisor();
      const a = track(guestVm(kvm));
      const specA = a.vcpu.attachSpec();
      const workerA = startTsWorker(new URL('./state-worker.ts', import.meta.url), {
        workerData: {
          vcpu: specA.handle,
          threadIoctls: specA.threadIoctls,
          restore: null,
          inValue: IN_VALUE,
        },
      });
      const fromA = messages(workerA);
      expect(await fromA()).toEqual({ kind: 'in' });
      const { state } = (await fromA()) as { state: VcpuSnapshot };
      await workerA.terminate();
      const machine = a.vm.saveState();
      const ram = ramOf(a.vm);
      expectGuestState(state, machine);

      const b = track(newVm(kvm));
      for (const r of ram) b.vm.memory.write(r.gpa, r.bytes);
      b.vm.restoreState(machine);
      const specB = b.vcpu.attachSpec();
      const workerB = startTsWorker(new URL('./state-worker.ts', import.meta.url), {
        workerData: {
          vcpu: specB.handle,
          threadIoctls: specB.threadIoctls,
          restore: state,
          inValue: IN_VALUE ^ 0xff,
        },
      });
      const fromB = messages(workerB);
      const watchdog = setTimeout(() => b.vcpu.kick(), WATCHDOG_MS);
      try {
        expect(await fromB()).toEqual({ kind: 'io', value: 2 });
      } finally {
        clearTimeout(watchdog);
        await workerB.terminate();
      }
      expectOut(outOf(b.vm));
    },
    120_000,
  );

  it.skipIf(NESTED)(
    'save (the guest halted, waiting for its timer), restore into a new VM, save again: every part the same but what time moves on',
    async () => {
      kvm = new KvmHypervisor();
      const a = track(guestVm(kvm));
      expect(runToPort(a.vcpu)).toBe('in');
      runUntilKicked(a.vcpu, 30);
      const v1 = a.vcpu.saveState();
      expect(v1.mpState, 'halted').toBe(KVM_MP_STATE_HALTED);
      const m1 = a.vm.saveState();
      const b = track(newVm(kvm));
      for (const r of ramOf(a.vm)) b.vm.memory.write(r.gpa, r.bytes);
      b.vm.restoreState(m1);
      b.vcpu.restoreState(v1);
      const v2 = b.vcpu.saveState();
      const m2 = b.vm.saveState();

      // The vCPU: byte for byte, but for the LAPIC timer's current count and the TSC, which run on.
      const { lapic: l1, msrs: msrs1, ...rest1 } = v1;
      const { lapic: l2, msrs: msrs2, ...rest2 } = v2;
      expect(rest2).toEqual(rest1);
      const TMCCT = 0x390;
      const tmcct = (l: Uint8Array) => lapicRegister(new DataView(l.buffer), TMCCT);
      expect(tmcct(l2!)).toBeLessThanOrEqual(tmcct(l1!));
      const masked = (l: Uint8Array) => [...l.slice(0, TMCCT), ...l.slice(TMCCT + 4)];
      expect(masked(l2!)).toEqual(masked(l1!));
      const notTsc = (m: typeof msrs1) => m.filter((e) => e.index !== MSR_IA32_TSC);
      expect(notTsc(msrs2)).toEqual(notTsc(msrs1));
      const tsc = (m: typeof msrs1) => m.find((e) => e.index === MSR_IA32_TSC)!.data;
      expect(tsc(msrs2)).toBeGreaterThanOrEqual(tsc(msrs1));

      // The VM: the chips byte for byte, the PIT but for when each count was loaded (KVM_SET_PIT2
      // reloads them), the clock no earlier than it was.
      expect(m2.irqchip).toEqual(m1.irqchip);
      const noLoadTime = (p: Uint8Array) => {
        const c = p.slice();
        for (let i = 0; i < PIT_CHANNELS; i++)
          c.fill(0, pitCountLoadTimeOffset(i), pitCountLoadTimeOffset(i) + 8);
        return [...c];
      };
      expect(noLoadTime(m2.pit!)).toEqual(noLoadTime(m1.pit!));
      expect(readClockData(m2.clock).clock).toBeGreaterThanOrEqual(readClockData(m1.clock).clock);
    },
    120_000,
  );

  it('the ioctls come in the order the kernel needs (vcpu-state.ts, vm-state.ts), TSC_DEADLINE after the TSC', () => {
    kvm = new KvmHypervisor();
    const a = track(guestVm(kvm));
    expect(runToPort(a.vcpu)).toBe('in');
    const b = track(newVm(kvm));
    // Every ioctl this thread makes, by its kernel name, in the order made (the spies call through).
    const names = new Map(
      Object.entries(K)
        .filter(
          (e): e is [string, number] => e[0].startsWith('KVM_') && typeof e[1] === 'number' && e[1] >= 0xae00,
        )
        .map(([n, v]) => [v, n]),
    );
    const ioctlPtr = vi.spyOn(libc(), 'ioctlPtr');
    const ioctlInt = vi.spyOn(libc(), 'ioctlInt');
    let lastMsrs: number[] = [];
    const order = (): string[] => {
      const calls = [
        ...ioctlPtr.mock.calls.map((args, i) => ({
          at: ioctlPtr.mock.invocationCallOrder[i]!,
          request: args[1],
          arg: args[2],
        })),
        ...ioctlInt.mock.calls.map((args, i) => ({
          at: ioctlInt.mock.invocationCallOrder[i]!,
          request: args[1],
          arg: null,
        })),
      ].sort((x, y) => x.at - y.at);
      ioctlPtr.mockClear();
      ioctlInt.mockClear();
      return calls.map(({ request, arg }) => {
        const name = names.get(request) ?? `0x${request.toString(16)}`;
        if (name === 'KVM_SET_MSRS' && arg) {
          const v = new DataView(arg.buffer, arg.byteOffset);
          lastMsrs = Array.from({ length: v.getUint32(0, true) }, (_, i) => v.getUint32(8 + 16 * i, true));
        }
        return name;
      });
    };
    try {
      const v = a.vcpu.saveState();
      expect(order()).toEqual([
        'KVM_RUN', // completes the `in`
        'KVM_GET_MP_STATE',
        'KVM_GET_REGS',
        'KVM_GET_SREGS',
        'KVM_GET_XSAVE2',
        'KVM_GET_XCRS',
        'KVM_GET_DEBUGREGS',
        'KVM_GET_LAPIC',
        'KVM_GET_TSC_KHZ',
        'KVM_GET_CPUID2',
        'KVM_GET_MSRS',
        'KVM_GET_VCPU_EVENTS',
      ]);
      const m = a.vm.saveState();
      expect(order()).toEqual([
        'KVM_CHECK_EXTENSION', // KVM_CAP_ADJUST_CLOCK
        'KVM_GET_CLOCK',
        'KVM_GET_IRQCHIP',
        'KVM_GET_IRQCHIP',
        'KVM_GET_IRQCHIP',
        'KVM_GET_PIT2',
      ]);
      b.vm.restoreState(m);
      expect(order()).toEqual([
        'KVM_CHECK_EXTENSION',
        'KVM_SET_IRQCHIP',
        'KVM_SET_IRQCHIP',
        'KVM_SET_IRQCHIP',
        'KVM_SET_PIT2',
        'KVM_SET_CLOCK',
      ]);
      b.vcpu.restoreState(v);
      expect(order()).toEqual([
        'KVM_SET_CPUID2',
        'KVM_SET_MP_STATE',
        'KVM_SET_REGS',
        'KVM_SET_SREGS',
        'KVM_SET_XSAVE',
        'KVM_SET_XCRS',
        'KVM_SET_DEBUGREGS',
        'KVM_SET_LAPIC',
        'KVM_GET_TSC_KHZ',
        'KVM_SET_MSRS',
        'KVM_SET_VCPU_EVENTS',
        'KVM_KVMCLOCK_CTRL',
      ]);
      expect(lastMsrs.indexOf(MSR_IA32_TSC)).toBeGreaterThanOrEqual(0);
      expect(lastMsrs.at(-1)).toBe(MSR_IA32_TSC_DEADLINE);
    } finally {
      ioctlPtr.mockRestore();
      ioctlInt.mockRestore();
    }
  });

  it('a restore into a vCPU or VM that is not set up as the saved one was is refused before any change', () => {
    kvm = new KvmHypervisor();
    const a = track(guestVm(kvm));
    expect(runToPort(a.vcpu)).toBe('in');
    const v = a.vcpu.saveState();
    const m = a.vm.saveState();
    const bare = kvm.createVm(LAYOUT) as KvmVm; // no irqchip
    vms.push(bare);
    const vcpu0 = bare.createVcpu(0);
    expect(() => vcpu0.restoreState!(v)).toThrow(VcpuStateError);
    expect(() => vcpu0.restoreState!(v)).toThrow(/createIrqchip\(\) before createVcpu\(\)/);
    expect(() => bare.restoreState(m)).toThrow(MachineStateError);
    const b = track(newVm(kvm));
    const vcpu1 = b.vm.createVcpu(1);
    expect(() => vcpu1.restoreState!(v)).toThrow(/the state is vCPU 0's/);
  });

  it('a real state: its encoding cut short, flipped, of another version or architecture is refused', async () => {
    kvm = new KvmHypervisor();
    const a = track(guestVm(kvm));
    expect(runToPort(a.vcpu)).toBe('in');
    const bytes = encodeHypervisorState({ machine: a.vm.saveState(), vcpus: [a.vcpu.saveState()] });
    const refused = (b: Uint8Array) => {
      try {
        decodeHypervisorState(b);
      } catch (e) {
        expect(e).toBeInstanceOf(StateDecodeError);
        return (e as StateDecodeError).code;
      }
      return 'accepted';
    };
    const edit = (at: number, xor: number) => {
      const b = bytes.slice();
      b[at]! ^= xor;
      return b;
    };
    expect(refused(bytes)).toBe('accepted');
    expect(refused(bytes.subarray(0, bytes.length - 1))).toBe('ESTATETRUNCATED');
    expect(refused(bytes.subarray(0, 10))).toBe('ESTATETRUNCATED');
    expect(refused(edit(STATE_HEADER_SIZE + 1000, 0x10))).toBe('ESTATECORRUPT');
    expect(refused(edit(bytes.length - 1, 1))).toBe('ESTATECORRUPT');
    expect(refused(edit(8, 3))).toBe('ESTATEVERSION');
    expect(refused(edit(11, 3))).toBe('ESTATEARCH');
    expect(refused(edit(0, 0x20))).toBe('ESTATEMAGIC');
  }, 120_000);
});

/** Every message of `worker`, in order (rejects when it fails or exits first). */
function messages(worker: Worker): () => Promise<unknown> {
  const queue: unknown[] = [];
  let wake: (() => void) | undefined;
  let failed: Error | undefined;
  worker.on('message', (m: unknown) => (queue.push(m), wake?.()));
  worker.on('error', (e) => ((failed = e), wake?.()));
  worker.on('exit', (code) => ((failed ??= new Error(`the vCPU worker exited (${code})`)), wake?.()));
  return async () => {
    while (queue.length === 0) {
      if (failed) throw failed;
      await new Promise<void>((r) => (wake = r));
    }
    return queue.shift();
  };
}
