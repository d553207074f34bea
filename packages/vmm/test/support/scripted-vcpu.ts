// The worker-side scripted vCPU (see scripted-hypervisor.ts): each run() returns the next scripted
// exit, filled into one reused object per kind as a real backend does; at the end of its script it
// blocks until kicked, like a vCPU halted in KVM_RUN.
import type { IoExit, MmioExit, Vcpu, VmExit } from '@vmm/hypervisor';

export type ScriptStep =
  | { out: number; bytes: number[] }
  | { in: number; size: number }
  /** String I/O (rep outs): `bytes` holds bytes.length / size elements of `size` bytes. */
  | { outs: number; size: number; bytes: number[] }
  /** String I/O (rep ins): `count` elements of `size` bytes. */
  | { ins: number; size: number; count: number }
  | { exit: 'shutdown' | 'hlt' }
  | { system: 'shutdown' | 'reset' | 'crash' }
  | { internal: number; data: bigint[] }
  /** KVM_EXIT_FAIL_ENTRY with this hardware entry failure reason. */
  | { failEntry: bigint }
  /** An exit reason the backend does not know. */
  | { unknownExit: number }
  /** run() throws this message (an ioctl failing). */
  | { throws: string }
  | { mmioRead: number; len: number }
  | { mmioWrite: number; bytes: number[] };

/** Words of ScriptedVcpuHandle.kick. */
export const KICK = 0;
/** Set while the vCPU waits at the end of its script (a vCPU halted in KVM_RUN). */
export const WAITING = 1;
export const KICK_WORDS = 2;

/** Bytes of ScriptedVcpuHandle.pioReads: a length word, then what in/ins steps read. */
export const PIO_READS_BYTES = 4 + 4096;

export interface ScriptedVcpuHandle {
  id: number;
  script: ScriptStep[];
  /** KICK_WORDS Int32 words: see KICK and WAITING. */
  kick: SharedArrayBuffer;
  /** What each mmioRead step read, as little-endian u32s in script order. */
  reads: SharedArrayBuffer;
  /** What in/ins steps read, bytes in script order, after a length word (Int32 at 0). */
  pioReads: SharedArrayBuffer;
}

export function attachScriptedVcpu(h: ScriptedVcpuHandle): Vcpu {
  const kick = new Int32Array(h.kick);
  const io: IoExit = { kind: 'io', direction: 'out', port: 0, size: 1, count: 1, data: new Uint8Array(8) };
  const mmio: MmioExit = { kind: 'mmio', direction: 'read', address: 0, len: 4, data: new Uint8Array(8) };
  const reads = new Uint32Array(h.reads);
  const pioLength = new Int32Array(h.pioReads, 0, 1);
  const pioBytes = new Uint8Array(h.pioReads, 4);
  let readCount = 0;
  let pendingRead: 'mmio' | 'pio' | undefined;
  let step = 0;
  const unsupported = () => {
    throw new Error('not available in a vCPU worker');
  };
  const portIo = (direction: 'in' | 'out', port: number, size: number, data: Uint8Array): IoExit => {
    io.direction = direction;
    io.port = port;
    io.size = size;
    io.count = data.length / size;
    io.data = data;
    if (direction === 'in') pendingRead = 'pio';
    return io;
  };
  return {
    id: h.id,
    run(): VmExit {
      // The previous exit was a read: the monitor has filled its data by now.
      if (pendingRead === 'mmio') reads[readCount++] = new DataView(mmio.data.buffer).getUint32(0, true);
      if (pendingRead === 'pio') {
        const at = Atomics.load(pioLength, 0);
        pioBytes.set(io.data, at);
        Atomics.store(pioLength, 0, at + io.data.length);
      }
      pendingRead = undefined;
      const s = h.script[step++];
      if (!s) {
        Atomics.store(kick, WAITING, 1);
        while (Atomics.load(kick, KICK) === 0) Atomics.wait(kick, KICK, 0, 1000);
        Atomics.store(kick, WAITING, 0);
        Atomics.store(kick, KICK, 0);
        return { kind: 'interrupted' };
      }
      if ('out' in s) return portIo('out', s.out, s.bytes.length, Uint8Array.from(s.bytes));
      if ('in' in s) return portIo('in', s.in, s.size, new Uint8Array(s.size));
      if ('outs' in s) return portIo('out', s.outs, s.size, Uint8Array.from(s.bytes));
      if ('ins' in s) return portIo('in', s.ins, s.size, new Uint8Array(s.size * s.count));
      if ('mmioRead' in s) {
        mmio.direction = 'read';
        mmio.address = s.mmioRead;
        mmio.len = s.len;
        mmio.data.fill(0);
        pendingRead = 'mmio';
        return mmio;
      }
      if ('mmioWrite' in s) {
        mmio.direction = 'write';
        mmio.address = s.mmioWrite;
        mmio.len = s.bytes.length;
        mmio.data.set(s.bytes);
        return mmio;
      }
      if ('exit' in s) return { kind: s.exit };
      if ('system' in s) return { kind: 'system-event', type: s.system, raw: 0 };
      if ('failEntry' in s) return { kind: 'fail-entry', reason: s.failEntry };
      if ('unknownExit' in s) return { kind: 'unknown', reason: s.unknownExit };
      if ('throws' in s) throw new Error(s.throws);
      return { kind: 'internal-error', suberror: s.internal, data: s.data };
    },
    getRegs: unsupported,
    setRegs: unsupported,
    getSregs: unsupported,
    setSregs: unsupported,
    setCpuid: unsupported,
    setMsrs: unsupported,
    getMsrs: unsupported,
    setFpuDefaults: unsupported,
    getFpu: unsupported,
    setLapicDefaults: unsupported,
    getLapic: unsupported,
    setMpState: unsupported,
    kick: () => {
      Atomics.store(kick, KICK, 1);
      Atomics.notify(kick, KICK);
    },
    attachSpec: unsupported,
    close: () => {},
  };
}

/** Script helpers: the guest printing text on COM1, and powering off / resetting through ACPI. */
export const printLine = (text: string): ScriptStep[] =>
  [...Buffer.from(`${text}\n`)].map((b) => ({ out: 0x3f8, bytes: [b] }));
