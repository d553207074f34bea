// A stand-in for KVM, for hosts without /dev/kvm (like our CI): real guest memory (memfd), real
// eventfds, and vCPUs that replay a script of exits instead of running guest code. Everything above
// the Vcpu trait (the Vmm, loaders, ACPI, vCPU workers, UART, exit handling) runs for real.
import {
  EventfdNotifier,
  MemfdGuestMemory,
  type CpuidEntry,
  type EventNotifier,
  type Hypervisor,
  type MemoryLayout,
  type MsrEntry,
  type Vcpu,
  type VirtualMachine,
  type X86Fpu,
  type X86Regs,
  type X86Sregs,
} from '@vmm/hypervisor';
import {
  KICK,
  KICK_WORDS,
  PIO_READS_BYTES,
  WAITING,
  type ScriptStep,
  type ScriptedVcpuHandle,
} from './scripted-vcpu';

export class ScriptedHypervisor implements Hypervisor {
  readonly name = 'scripted (stands in for KVM)';
  readonly vms: ScriptedVm[] = [];
  /** scripts[boot][vcpu]: what each vCPU does in each boot; a missing script waits to be kicked. */
  constructor(private readonly scripts: ScriptStep[][][]) {}

  createVm(layout: MemoryLayout): VirtualMachine {
    const vm = new ScriptedVm(layout, this.scripts[this.vms.length] ?? []);
    this.vms.push(vm);
    return vm;
  }
}

export class ScriptedVm implements VirtualMachine {
  readonly memory: MemfdGuestMemory;
  readonly vcpus: ScriptedMainVcpu[] = [];
  readonly irqfds: { gsi: number; fd: number }[] = [];
  readonly ioEvents: { address: number; value?: number }[] = [];
  irqchip = false;
  closed = false;
  /** Guest RAM as it was when the VM closed (the memfd is gone after close). */
  snapshot: { gpa: number; bytes: Uint8Array }[] = [];

  constructor(
    readonly layout: MemoryLayout,
    private readonly scripts: ScriptStep[][],
  ) {
    this.memory = MemfdGuestMemory.create(layout);
  }

  createVcpu(id: number): Vcpu {
    const v = new ScriptedMainVcpu(id, this.scripts[id] ?? []);
    this.vcpus.push(v);
    return v;
  }
  createIrqchip(): void {
    this.irqchip = true;
  }
  setIrqLine(): void {}
  registerIoEvent(
    _n: EventNotifier,
    address: number,
    _space: 'mmio' | 'pio',
    _len: number,
    value?: number,
  ): void {
    this.ioEvents.push({ address, value });
  }
  unregisterIoEvent(): void {}
  registerIrqFd(n: EventNotifier, gsi: number): void {
    this.irqfds.push({ gsi, fd: n.fd });
  }
  createEventNotifier(): EventNotifier {
    return EventfdNotifier.create();
  }
  supportedCpuid(): CpuidEntry[] {
    return [
      { function: 0, index: 0, flags: 0, eax: 0xd, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 },
      { function: 1, index: 0, flags: 0, eax: 0x306a9, ebx: 0, ecx: 0x80000000, edx: 0x178bfbff },
      {
        function: 0x40000000,
        index: 0,
        flags: 0,
        eax: 0x40000001,
        ebx: 0x4b4d564b,
        ecx: 0x564b4d56,
        edx: 0x4d,
      },
    ];
  }
  close(): void {
    this.snapshot = this.memory.regions.map((r) => ({
      gpa: r.gpa,
      bytes: Uint8Array.from(r.bytes.subarray(0, 2 ** 20)),
    }));
    this.closed = true;
    this.memory.close();
  }
}

/** The main thread's handle on a scripted vCPU: records what the Vmm programs into it. */
export class ScriptedMainVcpu implements Vcpu {
  regs: X86Regs | undefined;
  sregs: X86Sregs | undefined;
  cpuid: readonly CpuidEntry[] = [];
  msrs: readonly MsrEntry[] = [];
  private readonly kickWords = new SharedArrayBuffer(4 * KICK_WORDS);
  /** What the vCPU's MMIO reads returned (see ScriptedVcpuHandle.reads). */
  readonly reads = new SharedArrayBuffer(4 * 64);
  private readonly pioReads = new SharedArrayBuffer(PIO_READS_BYTES);

  constructor(
    readonly id: number,
    private readonly script: ScriptStep[],
  ) {}

  run(): never {
    throw new Error('a scripted vCPU runs in its worker');
  }
  getRegs(): X86Regs {
    return this.regs!;
  }
  setRegs(r: X86Regs): void {
    this.regs = r;
  }
  getSregs(): X86Sregs {
    return this.sregs!;
  }
  setSregs(s: X86Sregs): void {
    this.sregs = s;
  }
  setCpuid(e: readonly CpuidEntry[]): void {
    this.cpuid = e;
  }
  setMsrs(e: readonly MsrEntry[]): void {
    this.msrs = e;
  }
  getMsrs(indices: readonly number[]): MsrEntry[] {
    return indices.map((index) => {
      const set = this.msrs.find((m) => m.index === index);
      if (!set) throw new Error(`scripted vCPU ${this.id}: MSR 0x${index.toString(16)} was never set`);
      return set;
    });
  }
  /** setFpuDefaults() and setLapicDefaults() were called. */
  fpuDefaults = false;
  lapicDefaults = false;
  setFpuDefaults(): void {
    this.fpuDefaults = true;
  }
  /** The power-up state (what setFpuDefaults programs too): FCW 0x37f, the rest 0. */
  getFpu(): X86Fpu {
    const zero = { fsw: 0, ftwx: 0, lastOpcode: 0, lastIp: 0n, lastDp: 0n };
    return { ...zero, fpr: new Uint8Array(128), fcw: 0x37f, xmm: new Uint8Array(256) };
  }
  setLapicDefaults(): void {
    this.lapicDefaults = true;
  }
  /** LVT LINT0 and LINT1 (0x350, 0x360): masked at reset, ExtINT and NMI after setLapicDefaults. */
  getLapic(): Uint8Array {
    const page = new Uint8Array(1024);
    const v = new DataView(page.buffer);
    v.setUint32(0x350, this.lapicDefaults ? 0x700 : 0x10000, true);
    v.setUint32(0x360, this.lapicDefaults ? 0x400 : 0x10000, true);
    return page;
  }
  setMpState(): void {}
  kick(): void {
    const w = new Int32Array(this.kickWords);
    Atomics.store(w, KICK, 1);
    Atomics.notify(w, KICK);
  }
  /** The vCPU has run its script and waits to be kicked, as a vCPU halted in KVM_RUN. */
  get waiting(): boolean {
    return Atomics.load(new Int32Array(this.kickWords), WAITING) === 1;
  }
  /** What the vCPU's in/ins steps read, in script order. */
  portReads(): number[] {
    const n = Atomics.load(new Int32Array(this.pioReads, 0, 1), 0);
    return [...new Uint8Array(this.pioReads, 4, n)];
  }
  attachSpec() {
    const handle: ScriptedVcpuHandle = {
      id: this.id,
      script: this.script,
      kick: this.kickWords,
      reads: this.reads,
      pioReads: this.pioReads,
    };
    return {
      module: new URL('./scripted-vcpu.ts', import.meta.url).href,
      exportName: 'attachScriptedVcpu',
      handle,
    };
  }
  close(): void {}
}
