// The one encoding of a VM's saved KVM state (MachineSnapshot and every VcpuSnapshot) for a file:
// versioned, checksummed, every length checked on the way back in. Decoding takes untrusted bytes
// (a snapshot file anyone could have edited) and either returns a state exactly as it was encoded
// or throws StateDecodeError; the fuzz target beside this file holds it to that.
//
// Format 1, all numbers little-endian:
//   header (20 bytes): magic "VMMSTATE", u16 format version (1), u8 backend (1 = KVM),
//     u8 arch (1 = x86_64), u32 payload length, u32 CRC-32 (ISO-HDLC, as zlib's) of the payload
//   payload:
//     machine: u8 parts (bit 0 irqchip, bit 1 PIT); if irqchip: blob kvm_irqchip PIC master, PIC
//       slave, IOAPIC (their chip_id 0, 1, 2); if PIT: blob kvm_pit_state2; blob kvm_clock_data
//     u16 vCPU count, then each vCPU:
//       u32 id (each once), u32 mp_state, u8 parts (bit 0 xcrs, bit 1 lapic, bit 2 TSC kHz,
//       bit 3 the FPU state is kvm_xsave, else kvm_fpu), u32 TSC kHz (0 without bit 2),
//       u16 CPUID count (<= 256) x { u32 function, index, flags, eax, ebx, ecx, edx },
//       blob kvm_regs, blob kvm_sregs, blob kvm_xsave (4096 bytes or more, a multiple of 4) or
//       kvm_fpu, [blob kvm_xcrs], blob kvm_debugregs, [blob kvm_lapic_state],
//       u16 MSR count x { u32 index (each once), u64 data }, blob kvm_vcpu_events
//   A blob is a u32 length and that many bytes; the length must be its struct's size.
// Nothing follows the last vCPU. A change to any of this is a new format version.
import { VmmError } from '../errors';
import { tableCrc32 } from '../memory/image-crc';
import type { CpuidEntry, MachineSnapshot, MsrEntry, VcpuSnapshot } from '../types';
import { KVM_IRQCHIP_IOAPIC, KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE } from './constants';
import { CLOCK_DATA_SIZE } from './structs/clock-data';
import { DEBUGREGS_SIZE } from './structs/debugregs';
import { FPU_SIZE } from './structs/fpu';
import { IRQCHIP_SIZE, irqchipId } from './structs/irqchip';
import { LAPIC_STATE_SIZE } from './structs/lapic-state';
import { PIT_STATE2_SIZE } from './structs/pit-state2';
import { REGS_SIZE } from './structs/regs';
import { SREGS_SIZE } from './structs/sregs';
import { VCPU_EVENTS_SIZE } from './structs/vcpu-events';
import { XCRS_SIZE } from './structs/xcrs';
import { XSAVE_SIZE } from './structs/xsave';

/** A VM's saved KVM state: what `VirtualMachine.saveState()` and each `Vcpu.saveState()` returned. */
export interface HypervisorState {
  machine: MachineSnapshot;
  vcpus: VcpuSnapshot[];
}

export const STATE_MAGIC = 'VMMSTATE';
export const STATE_FORMAT_VERSION = 1;
export const STATE_HEADER_SIZE = 20;
const BACKEND_KVM = 1;
const ARCH_X86_64 = 1;

/** KVM_MAX_CPUID_ENTRIES. */
const MAX_CPUID = 256;
/** More than any CPU's XSAVE area (AMX makes it ~11 KiB); a larger length is corruption. */
const MAX_XSAVE = 1 << 20;

const MACHINE_IRQCHIP = 1 << 0;
const MACHINE_PIT = 1 << 1;
const VCPU_XCRS = 1 << 0;
const VCPU_LAPIC = 1 << 1;
const VCPU_TSC_KHZ = 1 << 2;
const VCPU_XSAVE = 1 << 3;

export type StateDecodeErrorCode =
  'ESTATEMAGIC' | 'ESTATEVERSION' | 'ESTATEARCH' | 'ESTATETRUNCATED' | 'ESTATECORRUPT';

/** Bytes that are not a saved state this vmm can restore; `code` says which way. */
export class StateDecodeError extends VmmError {
  declare readonly code: StateDecodeErrorCode;
  constructor(code: StateDecodeErrorCode, message: string) {
    super(code, message);
  }
}

/** A state that does not hold what its own types promise (a struct of the wrong size). */
export class StateEncodeError extends VmmError {}

export function encodeHypervisorState(state: HypervisorState): Uint8Array {
  const w = new Writer();
  const m = state.machine;
  if (m.backend !== 'kvm' || m.arch !== 'x86_64') throw encodeError(`a ${m.backend} ${m.arch} machine state`);
  w.u8((m.irqchip ? MACHINE_IRQCHIP : 0) | (m.pit ? MACHINE_PIT : 0));
  if (m.irqchip) {
    w.blob('PIC master', m.irqchip.picMaster, IRQCHIP_SIZE);
    w.blob('PIC slave', m.irqchip.picSlave, IRQCHIP_SIZE);
    w.blob('IOAPIC', m.irqchip.ioapic, IRQCHIP_SIZE);
  }
  if (m.pit) w.blob('kvm_pit_state2', m.pit, PIT_STATE2_SIZE);
  w.blob('kvm_clock_data', m.clock, CLOCK_DATA_SIZE);
  if (state.vcpus.length > 0xffff) throw encodeError(`${state.vcpus.length} vCPUs`);
  w.u16(state.vcpus.length);
  const ids = new Set<number>();
  for (const v of state.vcpus) {
    if (ids.has(v.id)) throw encodeError(`vCPU ${v.id} twice`);
    ids.add(v.id);
    encodeVcpu(w, v);
  }
  const payload = w.done();
  const out = new Uint8Array(STATE_HEADER_SIZE + payload.length);
  const h = new DataView(out.buffer);
  for (let i = 0; i < STATE_MAGIC.length; i++) out[i] = STATE_MAGIC.charCodeAt(i);
  h.setUint16(8, STATE_FORMAT_VERSION, true);
  h.setUint8(10, BACKEND_KVM);
  h.setUint8(11, ARCH_X86_64);
  h.setUint32(12, payload.length, true);
  h.setUint32(16, crc32(payload), true);
  out.set(payload, STATE_HEADER_SIZE);
  return out;
}

function encodeVcpu(w: Writer, v: VcpuSnapshot): void {
  if (v.backend !== 'kvm' || v.arch !== 'x86_64') throw encodeError(`a ${v.backend} ${v.arch} vCPU state`);
  if (v.cpuid.length > MAX_CPUID) throw encodeError(`${v.cpuid.length} CPUID entries`);
  if (v.msrs.length > 0xffff) throw encodeError(`${v.msrs.length} MSRs`);
  w.u32(v.id);
  w.u32(v.mpState);
  w.u8(
    (v.xcrs ? VCPU_XCRS : 0) |
      (v.lapic ? VCPU_LAPIC : 0) |
      (v.tscKhz !== null ? VCPU_TSC_KHZ : 0) |
      (v.fpu.format === 'kvm_xsave' ? VCPU_XSAVE : 0),
  );
  w.u32(v.tscKhz ?? 0);
  w.u16(v.cpuid.length);
  for (const e of v.cpuid)
    for (const x of [e.function, e.index, e.flags, e.eax, e.ebx, e.ecx, e.edx]) w.u32(x);
  w.blob('kvm_regs', v.regs, REGS_SIZE);
  w.blob('kvm_sregs', v.sregs, SREGS_SIZE);
  if (v.fpu.format === 'kvm_xsave') {
    const n = v.fpu.bytes.length;
    if (n < XSAVE_SIZE || n > MAX_XSAVE || n % 4 !== 0) throw encodeError(`a ${n}-byte XSAVE area`);
    w.blob('kvm_xsave', v.fpu.bytes, n);
  } else {
    w.blob('kvm_fpu', v.fpu.bytes, FPU_SIZE);
  }
  if (v.xcrs) w.blob('kvm_xcrs', v.xcrs, XCRS_SIZE);
  w.blob('kvm_debugregs', v.debugRegs, DEBUGREGS_SIZE);
  if (v.lapic) w.blob('kvm_lapic_state', v.lapic, LAPIC_STATE_SIZE);
  w.u16(v.msrs.length);
  if (new Set(v.msrs.map((m) => m.index)).size !== v.msrs.length)
    throw encodeError(`vCPU ${v.id}'s MSRs, one twice`);
  for (const m of v.msrs) {
    w.u32(m.index);
    w.u64(m.data);
  }
  w.blob('kvm_vcpu_events', v.events, VCPU_EVENTS_SIZE);
}

export function decodeHypervisorState(bytes: Uint8Array): HypervisorState {
  if (bytes.length < STATE_HEADER_SIZE) {
    throw new StateDecodeError(
      'ESTATETRUNCATED',
      `the saved state is ${bytes.length} bytes, shorter than its ${STATE_HEADER_SIZE}-byte header: the file was cut short`,
    );
  }
  const h = new DataView(bytes.buffer, bytes.byteOffset, STATE_HEADER_SIZE);
  for (let i = 0; i < STATE_MAGIC.length; i++) {
    if (bytes[i] !== STATE_MAGIC.charCodeAt(i)) {
      throw new StateDecodeError(
        'ESTATEMAGIC',
        `this is not a vmm saved state (no "${STATE_MAGIC}" at its start)`,
      );
    }
  }
  const version = h.getUint16(8, true);
  if (version !== STATE_FORMAT_VERSION) {
    throw new StateDecodeError(
      'ESTATEVERSION',
      `the saved state is format ${version}; this vmm reads format ${STATE_FORMAT_VERSION}: restore it with the vmm that saved it`,
    );
  }
  const backend = h.getUint8(10);
  const arch = h.getUint8(11);
  if (backend !== BACKEND_KVM || arch !== ARCH_X86_64) {
    throw new StateDecodeError(
      'ESTATEARCH',
      `the saved state is of backend ${backend}, architecture ${arch}; this vmm restores KVM (1) on x86_64 (1) only`,
    );
  }
  const length = h.getUint32(12, true);
  const have = bytes.length - STATE_HEADER_SIZE;
  if (length > have) {
    throw new StateDecodeError(
      'ESTATETRUNCATED',
      `the saved state says ${length} bytes follow its header but ${have} do: the file was cut short`,
    );
  }
  if (length < have) corrupt(`${have - length} bytes follow the ${length} its header announces`);
  const payload = bytes.subarray(STATE_HEADER_SIZE);
  if (crc32(payload) !== h.getUint32(16, true)) corrupt('its checksum does not match its contents');
  const r = new Reader(payload);
  const machine = decodeMachine(r);
  const count = r.u16();
  const vcpus: VcpuSnapshot[] = [];
  const ids = new Set<number>();
  for (let i = 0; i < count; i++) {
    const v = decodeVcpu(r);
    if (ids.has(v.id)) corrupt(`vCPU ${v.id} appears twice`);
    ids.add(v.id);
    vcpus.push(v);
  }
  if (r.left > 0) corrupt(`${r.left} bytes follow the last vCPU`);
  return { machine, vcpus };
}

function decodeMachine(r: Reader): MachineSnapshot {
  const parts = r.flags('machine', MACHINE_IRQCHIP | MACHINE_PIT);
  let irqchip: MachineSnapshot['irqchip'] = null;
  if (parts & MACHINE_IRQCHIP) {
    const chip = (name: string, id: number) => {
      const b = r.blob(name, IRQCHIP_SIZE);
      if (irqchipId(b) !== id) corrupt(`the ${name} state names chip ${irqchipId(b)}, not ${id}`);
      return b;
    };
    irqchip = {
      picMaster: chip('PIC master', KVM_IRQCHIP_PIC_MASTER),
      picSlave: chip('PIC slave', KVM_IRQCHIP_PIC_SLAVE),
      ioapic: chip('IOAPIC', KVM_IRQCHIP_IOAPIC),
    };
  }
  const pit = parts & MACHINE_PIT ? r.blob('kvm_pit_state2', PIT_STATE2_SIZE) : null;
  const clock = r.blob('kvm_clock_data', CLOCK_DATA_SIZE);
  return { backend: 'kvm', arch: 'x86_64', irqchip, pit, clock };
}

function decodeVcpu(r: Reader): VcpuSnapshot {
  const id = r.u32();
  const mpState = r.u32();
  const parts = r.flags(`vCPU ${id}`, VCPU_XCRS | VCPU_LAPIC | VCPU_TSC_KHZ | VCPU_XSAVE);
  const khz = r.u32();
  if (!(parts & VCPU_TSC_KHZ) && khz !== 0) corrupt(`vCPU ${id} has a TSC frequency it says it has not`);
  const nCpuid = r.u16();
  if (nCpuid > MAX_CPUID) corrupt(`vCPU ${id} has ${nCpuid} CPUID entries (at most ${MAX_CPUID})`);
  const cpuid: CpuidEntry[] = [];
  for (let i = 0; i < nCpuid; i++) {
    cpuid.push({
      function: r.u32(),
      index: r.u32(),
      flags: r.u32(),
      eax: r.u32(),
      ebx: r.u32(),
      ecx: r.u32(),
      edx: r.u32(),
    });
  }
  const regs = r.blob('kvm_regs', REGS_SIZE);
  const sregs = r.blob('kvm_sregs', SREGS_SIZE);
  let fpu: VcpuSnapshot['fpu'];
  if (parts & VCPU_XSAVE) {
    const n = r.u32();
    if (n < XSAVE_SIZE || n > MAX_XSAVE || n % 4 !== 0) corrupt(`vCPU ${id} has a ${n}-byte XSAVE area`);
    fpu = { format: 'kvm_xsave', bytes: r.bytes(n) };
  } else {
    fpu = { format: 'kvm_fpu', bytes: r.blob('kvm_fpu', FPU_SIZE) };
  }
  const xcrs = parts & VCPU_XCRS ? r.blob('kvm_xcrs', XCRS_SIZE) : null;
  const debugRegs = r.blob('kvm_debugregs', DEBUGREGS_SIZE);
  const lapic = parts & VCPU_LAPIC ? r.blob('kvm_lapic_state', LAPIC_STATE_SIZE) : null;
  const nMsrs = r.u16();
  const msrs: MsrEntry[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < nMsrs; i++) {
    const index = r.u32();
    if (seen.has(index)) corrupt(`vCPU ${id} has MSR 0x${index.toString(16)} twice`);
    seen.add(index);
    msrs.push({ index, data: r.u64() });
  }
  const events = r.blob('kvm_vcpu_events', VCPU_EVENTS_SIZE);
  return {
    backend: 'kvm',
    arch: 'x86_64',
    id,
    cpuid,
    mpState,
    regs,
    sregs,
    fpu,
    xcrs,
    debugRegs,
    lapic,
    msrs,
    events,
    tscKhz: parts & VCPU_TSC_KHZ ? khz : null,
  };
}

function corrupt(what: string): never {
  throw new StateDecodeError('ESTATECORRUPT', `the saved state is corrupt: ${what}; take the snapshot again`);
}

function encodeError(what: string): StateEncodeError {
  return new StateEncodeError(
    'ESTATEENCODE',
    `cannot encode ${what}: this vmm saves KVM x86_64 state as it read it`,
  );
}

/** Reads the payload; running past its end is corruption (the header's length and CRC held). */
class Reader {
  private at = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get left(): number {
    return this.buf.length - this.at;
  }

  private take(n: number): number {
    if (n > this.left) corrupt(`it ends ${n - this.left} bytes early, inside a field`);
    const at = this.at;
    this.at += n;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.take(1));
  }
  u16(): number {
    return this.view.getUint16(this.take(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }
  u64(): bigint {
    return this.view.getBigUint64(this.take(8), true);
  }

  /** A byte of flags, none but `known` set. */
  flags(what: string, known: number): number {
    const f = this.u8();
    if (f & ~known) corrupt(`${what} has unknown parts 0x${(f & ~known).toString(16)}`);
    return f;
  }

  /** A copy (its own buffer: it may be posted to another thread without the rest). */
  bytes(n: number): Uint8Array {
    const at = this.take(n);
    return this.buf.slice(at, at + n);
  }

  blob(name: string, size: number): Uint8Array {
    const n = this.u32();
    if (n !== size) corrupt(`the ${name} is ${n} bytes, not ${size}`);
    return this.bytes(n);
  }
}

class Writer {
  private chunks: Uint8Array[] = [];
  private readonly scratch = new DataView(new ArrayBuffer(8));

  private put(n: number): void {
    this.chunks.push(new Uint8Array(this.scratch.buffer.slice(0, n)));
  }
  u8(x: number): void {
    this.scratch.setUint8(0, x);
    this.put(1);
  }
  u16(x: number): void {
    this.scratch.setUint16(0, x, true);
    this.put(2);
  }
  u32(x: number): void {
    this.scratch.setUint32(0, x >>> 0, true);
    this.put(4);
  }
  u64(x: bigint): void {
    this.scratch.setBigUint64(0, BigInt.asUintN(64, x), true);
    this.put(8);
  }
  blob(name: string, b: Uint8Array, size: number): void {
    if (b.length !== size) throw encodeError(`a ${b.length}-byte ${name} (its struct has ${size})`);
    this.u32(b.length);
    this.chunks.push(b);
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/**
 * CRC-32/ISO-HDLC (as zlib and PNG) of the state's payload: the memory image's table-driven one
 * (image-crc.ts), whose table is made at its first use, not at every start.
 */
export function crc32(data: Uint8Array): number {
  return tableCrc32(data, 0);
}
