// Interrupts through the in-kernel irqchip to a guest halted in `sti; hlt`: a 32-bit guest masks
// the 8259s, software-enables its local APIC and programs two IOAPIC redirection entries (GSI 16
// to vector 0x40, GSI 17 to vector 0x41), then halts. The test raises GSI 16 with KVM_IRQ_LINE
// and GSI 17 through an irqfd, each once the vCPU thread sleeps in KVM_RUN; each handler writes
// its vector to port 0xe9, EOIs and halts again. The frames the CPU pushed show where each
// interrupt arrived.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { KVM_RUN } from '../../src/kvm/constants';
import { KvmHypervisor } from '../../src/kvm/hypervisor';
import { APIC_SPIV, lapicRegister } from '../../src/kvm/structs/lapic-state';
import type { KvmVcpu } from '../../src/kvm/vcpu';
import type { KvmVm } from '../../src/kvm/vm';
import { sleepingIn, sleepingInUnavailable } from '../../src/test-support/thread-syscall';
import { startTsWorker } from '../../src/test-support/ts-worker';
import { announceSkip, kvmUsable } from './can-run';

announceSkip('KVM backend: interrupts through the IOAPIC to a halted guest (KVM_IRQ_LINE, irqfd)');
if (kvmUsable && sleepingInUnavailable)
  console.warn(`SKIP (${sleepingInUnavailable}): KVM interrupts to a halted guest`);

const MiB = 1024 * 1024;
const CODE = 0x1000;
const HANDLER_40 = 0x1100;
const HANDLER_41 = 0x1180;
const GDT = 0x500;
const IDT = 0x600;
const STACK = 0x8000;
const PORT = 0xe9;

// prettier-ignore
const MAIN = [
  0xb0, 0xff,                                           // mov al, 0xff
  0xe6, 0x21,                                           // out 0x21, al: mask the master 8259
  0xe6, 0xa1,                                           // out 0xa1, al: and the slave
  0xc7, 0x05, 0xf0, 0x00, 0xe0, 0xfe, 0xff, 0x01, 0, 0, // mov dword [0xfee000f0], 0x1ff: APIC on, spurious 0xff
  ...ioapicWrite(0x30, 0x40),                           // IOREDTBL16: vector 0x40, fixed, edge, unmasked
  ...ioapicWrite(0x31, 0),                              //   to APIC ID 0
  ...ioapicWrite(0x32, 0x41),                           // IOREDTBL17: vector 0x41
  ...ioapicWrite(0x33, 0),
  0xb0, 0x01,                                           // mov al, 1
  0xe6, PORT,                                           // out 0xe9, al: ready
  0xfb,                                                 // sti
  0xf4,                                                 // hlt
  0xeb, 0xfd,                                           // jmp to the hlt
];
const MAIN_HLT = CODE + MAIN.length - 3;

/** mov dword [0xfec00000], reg ; mov dword [0xfec00010], value (IOREGSEL, then IOWIN). */
function ioapicWrite(reg: number, value: number): number[] {
  return [
    0xc7,
    0x05,
    0x00,
    0x00,
    0xc0,
    0xfe,
    reg,
    0,
    0,
    0,
    0xc7,
    0x05,
    0x10,
    0x00,
    0xc0,
    0xfe,
    value,
    0,
    0,
    0,
  ];
}

/** Writes its vector to the port, EOIs, and halts with interrupts on. */
// prettier-ignore
const handler = (vector: number) => [
  0xb0, vector,                                         // mov al, vector
  0xe6, PORT,                                           // out 0xe9, al
  0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0,       // mov dword [0xfee000b0], 0: EOI
  0xfb,                                                 // sti
  0xf4,                                                 // hlt
  0xeb, 0xfd,                                           // jmp to the hlt
];
const HANDLER_HLT_OFFSET = 15;

/** A 32-bit interrupt gate to `offset` in the code segment (Intel SDM Vol. 3A §6.11). */
const gate = (offset: number) =>
  (BigInt((offset & 0xffff0000) | 0x8e00) << 32n) | BigInt((0x08 << 16) | (offset & 0xffff));

/** Every message of `worker`, in order. */
function messages(worker: Worker): () => Promise<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  let failed: Error | undefined;
  worker.on('message', (m: Record<string, unknown>) => (queue.push(m), wake?.()));
  worker.on('error', (e) => ((failed = e), wake?.()));
  worker.on('exit', (code) => ((failed ??= new Error(`the vCPU worker exited (${code})`)), wake?.()));
  return async () => {
    while (queue.length === 0) {
      if (failed) throw failed;
      await new Promise<void>((r) => (wake = r));
    }
    return queue.shift()!;
  };
}

describe.skipIf(!kvmUsable || sleepingInUnavailable)('KVM interrupts to a halted guest', () => {
  let kvm: KvmHypervisor | undefined;
  let vm: KvmVm | undefined;
  afterEach(() => {
    vm?.close();
    kvm?.close();
    vm = kvm = undefined;
  });

  it('KVM_IRQ_LINE and an irqfd each reach the vector the guest routed its GSI to, while it sits in hlt', async () => {
    kvm = new KvmHypervisor();
    vm = kvm.createVm({ ranges: [{ gpa: 0, size: MiB }] }) as KvmVm;
    vm.createIrqchip();
    const mem = vm.memory;
    mem.write(CODE, Uint8Array.from(MAIN));
    mem.write(HANDLER_40, Uint8Array.from(handler(0x40)));
    mem.write(HANDLER_41, Uint8Array.from(handler(0x41)));
    mem.writeU64(GDT + 8, 0x00cf9a000000ffffn); // 0x08: code, flat, 32-bit
    mem.writeU64(GDT + 16, 0x00cf92000000ffffn); // 0x10: data, flat
    mem.writeU64(IDT + 8 * 0x40, gate(HANDLER_40));
    mem.writeU64(IDT + 8 * 0x41, gate(HANDLER_41));
    const vcpu = vm.createVcpu(0) as KvmVcpu;
    const s = vcpu.getSregs();
    const flat = {
      base: 0n,
      limit: 0xffffffff,
      present: 1,
      dpl: 0,
      db: 1,
      s: 1,
      l: 0,
      g: 1,
      avl: 0,
      unusable: 0,
    };
    const data = { ...flat, selector: 0x10, type: 3 };
    vcpu.setSregs({
      ...s,
      cs: { ...flat, selector: 0x08, type: 11 },
      ds: data,
      es: data,
      fs: data,
      gs: data,
      ss: data,
      gdt: { base: BigInt(GDT), limit: 23 },
      idt: { base: BigInt(IDT), limit: 256 * 8 - 1 },
      cr0: 0x11n, // protected mode, no paging
    });
    vcpu.setRegs({ ...vcpu.getRegs(), rip: BigInt(CODE), rsp: BigInt(STACK), rflags: 2n });
    const irqfd = vm.createEventNotifier();
    vm.registerIrqFd(irqfd, 17);

    const worker = startTsWorker(new URL('./exits-worker.ts', import.meta.url), {
      workerData: { vcpu: vcpu.attachSpec().handle },
    });
    const next = messages(worker);
    try {
      const { tid } = (await next()) as { tid: number };
      /** The guest halted: its vCPU thread sleeps in KVM_RUN (running guest code, it would be on a CPU). */
      const halted = () =>
        vi.waitFor(
          () => {
            const sleeping = sleepingIn(tid);
            expect(sleeping?.call === 'ioctl' && sleeping.args[1] === BigInt(KVM_RUN)).toBe(true);
          },
          { timeout: 60_000, interval: 5 },
        );
      expect(await next()).toEqual({ kind: 'io', direction: 'out', port: PORT, value: 1 });
      await halted();
      vm.setIrqLine(16, true);
      vm.setIrqLine(16, false);
      expect(await next()).toEqual({ kind: 'io', direction: 'out', port: PORT, value: 0x40 });
      await halted();
      irqfd.signal();
      expect(await next()).toEqual({ kind: 'io', direction: 'out', port: PORT, value: 0x41 });
      await halted();
      vcpu.kick();
      expect(await next()).toEqual({ kind: 'interrupted' });
    } finally {
      await worker.terminate();
    }

    // Two frames, no iret: each interrupt arrived right after a hlt, with interrupts on (IF).
    const regs = vcpu.getRegs();
    expect(regs.rsp).toBe(BigInt(STACK - 24));
    const frame = (at: number) => [mem.readU32(at), mem.readU32(at + 4), mem.readU32(at + 8) & 0x200];
    expect(frame(STACK - 12)).toEqual([MAIN_HLT + 1, 0x08, 0x200]);
    expect(frame(STACK - 24)).toEqual([HANDLER_40 + HANDLER_HLT_OFFSET + 1, 0x08, 0x200]);
    expect(regs.rip).toBe(BigInt(HANDLER_41 + HANDLER_HLT_OFFSET + 1));
    // The local APIC as the guest left it: software-enabled, both vectors EOI'd (ISR 0x120 clear).
    const lapic = new DataView(vcpu.getLapic().buffer);
    expect(lapicRegister(lapic, APIC_SPIV)).toBe(0x1ff);
    expect(lapicRegister(lapic, 0x120) & 0b11).toBe(0);
  }, 300_000); // a worker thread starts in ~30 s in the nested-KVM VM (TCG)
});
