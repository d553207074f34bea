// The hypervisor traits: what the layers above see of a backend (KVM now; HVF and VZ later).
// Backends implement these; nothing above @vmm/hypervisor imports a backend's internals.

/**
 * Where a component reports something a user should see (a device parked in DEVICE_NEEDS_RESET, a
 * malformed ring, a flow refused by a cap): `kind` names the event, so the receiver can rate-limit
 * per kind (a hostile guest may cause the same event a million times), `line` says it in words.
 */
export type LogSink = (kind: string, line: string) => void;

/** One contiguous range of guest-physical memory backed by host memory. */
export interface GuestRegion {
  /** Guest-physical address of the first byte. */
  readonly gpa: number;
  /** Length in bytes. */
  readonly size: number;
  /** Host view of the whole region (no copy: the same pages the guest sees). */
  readonly bytes: Uint8Array;
}

/**
 * Guest RAM. Every access is bounds-checked: an address or length the guest controls is never
 * trusted. Methods that return views return `undefined` (never throw) when the range is not
 * wholly inside one region, so device code can turn that into an error status.
 */
export interface GuestMemory {
  readonly regions: readonly GuestRegion[];
  /** Total bytes of RAM over all regions. */
  readonly totalSize: number;
  /** A view of [gpa, gpa+len) without copying, or undefined when out of bounds. */
  slice(gpa: number, len: number): Uint8Array | undefined;
  /** True when [gpa, gpa+len) lies wholly inside one region. */
  contains(gpa: number, len: number): boolean;
  /** Typed little-endian accessors; they throw GuestMemoryError when out of bounds. */
  readU8(gpa: number): number;
  readU16(gpa: number): number;
  readU32(gpa: number): number;
  readU64(gpa: number): bigint;
  writeU8(gpa: number, value: number): void;
  writeU16(gpa: number, value: number): void;
  writeU32(gpa: number, value: number): void;
  writeU64(gpa: number, value: bigint): void;
  /** Copy host bytes into guest memory; throws GuestMemoryError when out of bounds. */
  write(gpa: number, data: Uint8Array): void;
  /**
   * Lend this RAM to another thread of the process (a device's I/O thread): the lease's handle
   * attaches it there (attachGuestMemory). The host mapping stays until every lease is released
   * and the owner closed the memory, so a thread that may still touch it never finds it gone.
   * Undefined where the memory cannot be seen from another thread (plain ArrayBuffers).
   */
  lend?(): GuestMemoryLease;
  /**
   * The runs of RAM that may hold data (ever written, or read from a backing file); the rest is
   * zero. A snapshot writes only these. Undefined: every range may.
   */
  touchedRanges?(): TouchedRange[];
  /**
   * RAM mapped from a backing file: fault the file's stored pages in now, each copied into this
   * process as the guest's first write would (Cloud Hypervisor's restore `prefault`), so the guest
   * takes no host page fault on them; holes stay lazy. Runs on the libuv pool, not the caller's
   * thread. Undefined, or nothing to do, for fresh RAM.
   */
  prefault?(): Promise<void>;
}

/** What a worker needs to see the same guest RAM: plain, structured-cloneable data. */
export interface GuestMemoryHandle {
  /** The memfd (process-wide; a worker may mmap it again if it wants its own mapping). */
  fd: number;
  /** Where the owner mapped the memfd. */
  hostAddress: bigint;
  /** The layout's ranges, each with its byte offset in the mapping. */
  ranges: { gpa: number; size: number; hostOffset: number }[];
  maxViewBytes: number;
}

/** Guest RAM lent to another thread: release it once that thread can no longer touch it. */
export interface GuestMemoryLease {
  readonly handle: GuestMemoryHandle;
  /** That thread has let go (or exited). Idempotent. */
  release(): void;
}

/**
 * Why KVM_RUN (or its peer) returned. One object per kind is preallocated by the backend and
 * refilled on each exit: the vCPU loop allocates nothing per exit. Do not keep a reference
 * across `run()` calls.
 */
export type VmExit =
  | IoExit
  | MmioExit
  | { kind: 'hlt' }
  | { kind: 'shutdown' }
  | { kind: 'system-event'; type: SystemEventType; raw: number }
  | { kind: 'internal-error'; suberror: number; data: readonly bigint[] }
  | { kind: 'fail-entry'; reason: bigint }
  | { kind: 'interrupted' }
  | { kind: 'unknown'; reason: number };

export type SystemEventType = 'shutdown' | 'reset' | 'crash' | 'other';

/** Port I/O. For `in`, the handler fills `data`; for `out`, `data` holds what the guest wrote. */
export interface IoExit {
  kind: 'io';
  direction: 'in' | 'out';
  port: number;
  /** Access size in bytes: 1, 2 or 4. */
  size: number;
  /** Repeat count (string I/O); data holds size*count bytes. */
  count: number;
  data: Uint8Array;
}

/** MMIO. For a read, the handler fills `data` (len bytes); for a write, `data` holds the value. */
export interface MmioExit {
  kind: 'mmio';
  direction: 'read' | 'write';
  address: number;
  len: number;
  data: Uint8Array;
}

/** General-purpose registers, as KVM_GET/SET_REGS carries them (x86_64). */
export interface X86Regs {
  rax: bigint;
  rbx: bigint;
  rcx: bigint;
  rdx: bigint;
  rsi: bigint;
  rdi: bigint;
  rsp: bigint;
  rbp: bigint;
  r8: bigint;
  r9: bigint;
  r10: bigint;
  r11: bigint;
  r12: bigint;
  r13: bigint;
  r14: bigint;
  r15: bigint;
  rip: bigint;
  rflags: bigint;
}

export interface X86Segment {
  base: bigint;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl: number;
  unusable: number;
}

export interface X86DescriptorTable {
  base: bigint;
  limit: number;
}

/** Special registers, as KVM_GET/SET_SREGS carries them (x86_64). */
export interface X86Sregs {
  cs: X86Segment;
  ds: X86Segment;
  es: X86Segment;
  fs: X86Segment;
  gs: X86Segment;
  ss: X86Segment;
  tr: X86Segment;
  ldt: X86Segment;
  gdt: X86DescriptorTable;
  idt: X86DescriptorTable;
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  cr8: bigint;
  efer: bigint;
  apicBase: bigint;
}

/** One CPUID leaf as KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2 carry it. */
export interface CpuidEntry {
  function: number;
  index: number;
  flags: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

export interface MsrEntry {
  index: number;
  data: bigint;
}

/**
 * x87 and SSE registers, as KVM_GET_FPU reports them (x86_64). No MXCSR: the kernel leaves it out
 * of what KVM_GET_FPU copies (arch/x86/kvm/x86.c, kvm_arch_vcpu_ioctl_get_fpu), although
 * KVM_SET_FPU sets it.
 */
export interface X86Fpu {
  /** The eight x87 registers, 16 bytes each (80 bits used). */
  fpr: Uint8Array;
  fcw: number;
  fsw: number;
  /** The abridged tag word (FXSAVE format: one bit per register). */
  ftwx: number;
  lastOpcode: number;
  lastIp: bigint;
  lastDp: bigint;
  /** xmm0 to xmm15, 16 bytes each. */
  xmm: Uint8Array;
}

/**
 * Everything KVM holds of one x86_64 vCPU, saved by `Vcpu.saveState()` while the vCPU is out of
 * `run()`, for `restoreState()` on a vCPU of the same id in a new VM (this process or another).
 * Plain, structured-cloneable data: it crosses threads with postMessage as it is, and goes into a
 * file through the one versioned encoding (kvm/state-codec.ts). Each byte array is a kernel struct
 * exactly as its KVM_GET_* ioctl filled it (arch/x86/include/uapi/asm/kvm.h), so nothing KVM
 * reports is lost; the struct modules in kvm/structs/ read them.
 */
export interface VcpuSnapshot {
  backend: 'kvm';
  arch: 'x86_64';
  /** The vCPU id (KVM_CREATE_VCPU), which is also its initial APIC ID. */
  id: number;
  /** KVM_GET_CPUID2: what the guest's CPUID shows (empty if the monitor never set it). */
  cpuid: CpuidEntry[];
  /** kvm_mp_state.mp_state (KVM_MP_STATE_*). */
  mpState: number;
  /** struct kvm_regs. */
  regs: Uint8Array;
  /** struct kvm_sregs, with its pending-interrupt bitmap. */
  sregs: Uint8Array;
  /**
   * x87, SSE, AVX and the rest: struct kvm_xsave (KVM_GET_XSAVE2 or KVM_GET_XSAVE, 4096 bytes or
   * more), or struct kvm_fpu where the host has no KVM_CAP_XSAVE (that loses MXCSR, which
   * KVM_GET_FPU does not report).
   */
  fpu: { format: 'kvm_xsave' | 'kvm_fpu'; bytes: Uint8Array };
  /** struct kvm_xcrs (XCR0), or null where the host has no KVM_CAP_XCRS. */
  xcrs: Uint8Array | null;
  /** struct kvm_debugregs. */
  debugRegs: Uint8Array;
  /** struct kvm_lapic_state, or null when the VM has no in-kernel irqchip. */
  lapic: Uint8Array | null;
  /** KVM_GET_MSRS of every MSR in KVM_GET_MSR_INDEX_LIST and the MTRRs that KVM could read. */
  msrs: MsrEntry[];
  /** struct kvm_vcpu_events: pending and injected exception, interrupt, NMI, SMI. */
  events: Uint8Array;
  /** KVM_GET_TSC_KHZ, or null where the host cannot say (KVM_CAP_GET_TSC_KHZ). */
  tscKhz: number | null;
}

/**
 * Everything KVM holds of a VM outside its vCPUs and RAM: the in-kernel interrupt controllers, the
 * PIT and the kvmclock. Saved by `VirtualMachine.saveState()` with every vCPU out of `run()`;
 * plain, structured-cloneable data like VcpuSnapshot. Guest RAM is not in it: the caller saves
 * `memory` itself.
 */
export interface MachineSnapshot {
  backend: 'kvm';
  arch: 'x86_64';
  /** struct kvm_irqchip for each chip, or null when the VM has no in-kernel irqchip. */
  irqchip: { picMaster: Uint8Array; picSlave: Uint8Array; ioapic: Uint8Array } | null;
  /** struct kvm_pit_state2, or null without the in-kernel PIT. */
  pit: Uint8Array | null;
  /**
   * struct kvm_clock_data. `realtime` is always filled (by KVM, or from the host's clock when KVM
   * did not), so a restore advances the guest's kvmclock by the wall time since the save.
   */
  clock: Uint8Array;
}

/** The calling thread's turn at running a vCPU (Vcpu.leaseThread). */
export interface VcpuThreadLease {
  release(): void;
}

/** A virtual CPU. `run()` blocks its thread until the next exit. */
export interface Vcpu {
  readonly id: number;
  run(): VmExit;
  getRegs(): X86Regs;
  setRegs(regs: X86Regs): void;
  getSregs(): X86Sregs;
  setSregs(sregs: X86Sregs): void;
  setCpuid(entries: readonly CpuidEntry[]): void;
  setMsrs(entries: readonly MsrEntry[]): void;
  /** Read the MSRs `indices`, in that order; throws naming the first one the backend cannot read. */
  getMsrs(indices: readonly number[]): MsrEntry[];
  /**
   * x86: program the x87 FPU (FCW 0x37f, the rest 0) as Linux expects at boot. Not MXCSR: KVM_SET_FPU
   * ignores it (arch/x86/kvm/x86.c); a new vCPU starts with 0x1f80, which is what Linux expects.
   */
  setFpuDefaults(): void;
  /** x86: the x87 and SSE registers (not MXCSR: see X86Fpu). */
  getFpu(): X86Fpu;
  /** x86 with in-kernel irqchip: LINT0 ExtINT, LINT1 NMI. */
  setLapicDefaults(): void;
  /**
   * x86 with in-kernel irqchip: a copy of the local APIC's 1 KiB register page, each register a
   * little-endian u32 at its offset in Intel SDM Vol. 3A Table 11-1 (e.g. 0xf0 the spurious
   * interrupt vector register).
   */
  getLapic(): Uint8Array;
  /** Mark the vCPU runnable (a secondary vCPU started without INIT/SIPI) or waiting for SIPI. */
  setMpState(state: 'runnable' | 'uninitialized' | 'init-received' | 'halted'): void;
  /** Make a blocked or future `run()` return `{ kind: 'interrupted' }` soon (from any thread). */
  kick(): void;
  /**
   * Let the calling thread run this vCPU for a while, before the thread that will run it is
   * ready: its `run()` returns `interrupted` at least every `tickMs` whatever the guest does, so
   * the caller can look up and hand the vCPU on. Call `release()` before another thread runs it.
   * Undefined where the backend cannot.
   */
  leaseThread?(tickMs: number): VcpuThreadLease;
  /**
   * Everything the backend holds of this vCPU, for `restoreState()` elsewhere. Call it while the
   * vCPU is out of `run()` with its last exit finished, with every other vCPU of the VM out of
   * `run()` too: either in the thread that ran it (KVM finishes an io or mmio exit there first),
   * or from any thread once its last `run()` returned `interrupted` (a kick, then a run that ran
   * no guest code). Undefined where the backend cannot save a vCPU.
   */
  saveState?(): VcpuSnapshot;
  /**
   * Make this vCPU what `saveState()` saw: a new vCPU of the same id, in a VM set up as the saved
   * one was (irqchip created first), guest RAM already restored, before its first `run()`. Throws
   * naming the part this host's backend refuses.
   */
  restoreState?(state: VcpuSnapshot): void;
  /**
   * How a worker thread attaches this vCPU: `(await import(module))[exportName](handle)` returns a
   * Vcpu over the same vCPU (for KVM: `{ module: '@vmm/hypervisor', exportName: 'attachKvmVcpu' }`).
   * `handle` must be structured-cloneable. `threadIoctls`: the ioctl requests the attached vCPU
   * makes from that thread (its run loop's), for the thread's seccomp filter.
   */
  attachSpec(): { module: string; exportName: string; handle: unknown; threadIoctls?: readonly number[] };
  /**
   * The hypervisor's own counters of this vCPU by its names (KVM: exits, halt_exits, pf_fixed,
   * ...), read from any thread. Undefined where the backend or the host kernel keeps none.
   */
  stats?(): Record<string, number> | undefined;
  close(): void;
}

/** An eventfd-like handle the guest or the host signals without a vCPU exit to userspace. */
export interface EventNotifier {
  readonly fd: number;
  /** Consume pending signals; returns how many (0 if none). Never blocks. */
  drain(): bigint;
  signal(): void;
  close(): void;
}

export interface VirtualMachine {
  readonly memory: GuestMemory;
  /** Create a vCPU; with the in-kernel irqchip, create it after `createIrqchip()`. */
  createVcpu(id: number): Vcpu;
  /** x86: in-kernel IOAPIC + PIC + LAPICs, and the PIT. */
  createIrqchip(): void;
  /** Assert or deassert a GSI on the in-kernel irqchip. */
  setIrqLine(gsi: number, level: boolean): void;
  /** The guest writing `value` (or anything, if undefined) to `address` signals `notifier`. */
  registerIoEvent(
    notifier: EventNotifier,
    address: number,
    space: 'mmio' | 'pio',
    len: number,
    value?: number,
  ): void;
  unregisterIoEvent(
    notifier: EventNotifier,
    address: number,
    space: 'mmio' | 'pio',
    len: number,
    value?: number,
  ): void;
  /** Signalling `notifier` raises `gsi` in the guest. */
  registerIrqFd(notifier: EventNotifier, gsi: number): void;
  createEventNotifier(): EventNotifier;
  /** x86: the CPUID leaves the backend can virtualise. */
  supportedCpuid(): CpuidEntry[];
  /**
   * The VM's own state (irqchip, PIT, clock), with every vCPU out of `run()`. Undefined where the
   * backend cannot save a VM.
   */
  saveState?(): MachineSnapshot;
  /** The hypervisor's own counters of the VM (KVM: its MMU's pages, ...), as Vcpu.stats(). */
  stats?(): Record<string, number> | undefined;
  /**
   * Make this new VM what `saveState()` saw: created with the same memory layout, irqchip created
   * if the saved one had it, vCPUs created. Restore it before the vCPUs' states, as Firecracker
   * does; the clock is set last and catches up with the wall time since the save.
   */
  restoreState?(state: MachineSnapshot): void;
  close(): void;
}

/** A memory layout request: the guest-physical ranges to back with RAM. */
export interface MemoryLayout {
  ranges: readonly { gpa: number; size: number }[];
  /**
   * Map RAM copy-on-write from this file (a snapshot's memory, laid out as the ranges one after
   * another) instead of fresh zeroed memory: pages are read from it on first touch, writes stay
   * private, the file is never written. Its size must be the ranges' total.
   */
  backingFile?: string;
}

/** A run of guest RAM that may hold data; RAM outside every such run reads as zero. */
export interface TouchedRange {
  gpa: number;
  size: number;
  /** Byte offset of gpa in the ranges laid out one after another (the snapshot file's layout). */
  offset: number;
}

export type VirtualizationKind = 'hardware' | 'software-emulated' | 'none';

export interface ProbeResult {
  backend: 'kvm' | 'hvf' | 'vz';
  /** /dev/kvm (or the framework) exists. */
  present: boolean;
  /** We may open it (permissions). */
  accessible: boolean;
  apiVersion?: number;
  /** Extensions we use, each with whether the host has it. */
  extensions: { name: string; present: boolean }[];
  virtualization: VirtualizationKind;
  /** Why the backend is not usable, with the fix, one sentence each. */
  problems: { problem: string; fix: string }[];
  /** Facts worth printing: CPU model, host kernel, the virtualization module. */
  details: Record<string, string>;
}

export interface Hypervisor {
  readonly name: string;
  createVm(layout: MemoryLayout): VirtualMachine;
  /** Let go of the host handle (/dev/kvm); VMs already created keep working. */
  close?(): void;
}
