// The worker-side scripted vCPU (see scripted-hypervisor.ts): each run() returns the next scripted
// exit, filled into one reused object per kind as a real backend does; at the end of its script it
// blocks until kicked, like a vCPU halted in KVM_RUN.
import type { IoExit, MmioExit, Vcpu, VmExit } from '@vmm/hypervisor';

export type ScriptStep =
  | { out: number; bytes: number[] }
  | { in: number; size: number }
  | { exit: 'shutdown' | 'hlt' }
  | { system: 'shutdown' | 'reset' | 'crash' }
  | { internal: number; data: bigint[] }
  | { mmioRead: number; len: number }
  | { mmioWrite: number; bytes: number[] };

export interface ScriptedVcpuHandle {
  id: number;
  script: ScriptStep[];
  kick: SharedArrayBuffer;
  /** What each mmioRead step read, as little-endian u32s in script order. */
  reads: SharedArrayBuffer;
}

export function attachScriptedVcpu(h: ScriptedVcpuHandle): Vcpu {
  const kick = new Int32Array(h.kick);
  const io: IoExit = { kind: 'io', direction: 'out', port: 0, size: 1, count: 1, data: new Uint8Array(8) };
  const mmio: MmioExit = { kind: 'mmio', direction: 'read', address: 0, len: 4, data: new Uint8Array(8) };
  const reads = new Uint32Array(h.reads);
  let readCount = 0;
  let pendingRead = false;
  let step = 0;
  const unsupported = () => {
    throw new Error('not available in a vCPU worker');
  };
  return {
    id: h.id,
    run(): VmExit {
      // The previous exit was an MMIO read: the monitor has filled mmio.data by now.
      if (pendingRead) {
        reads[readCount++] = new DataView(mmio.data.buffer).getUint32(0, true);
        pendingRead = false;
      }
      const s = h.script[step++];
      if (!s) {
        while (Atomics.load(kick, 0) === 0) Atomics.wait(kick, 0, 0, 1000);
        Atomics.store(kick, 0, 0);
        return { kind: 'interrupted' };
      }
      if ('out' in s) {
        io.direction = 'out';
        io.port = s.out;
        io.size = s.bytes.length;
        io.data = Uint8Array.from(s.bytes);
        return io;
      }
      if ('in' in s) {
        io.direction = 'in';
        io.port = s.in;
        io.size = s.size;
        io.data = new Uint8Array(s.size);
        return io;
      }
      if ('mmioRead' in s) {
        mmio.direction = 'read';
        mmio.address = s.mmioRead;
        mmio.len = s.len;
        mmio.data.fill(0);
        pendingRead = true;
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
      return { kind: 'internal-error', suberror: s.internal, data: s.data };
    },
    getRegs: unsupported,
    setRegs: unsupported,
    getSregs: unsupported,
    setSregs: unsupported,
    setCpuid: unsupported,
    setMsrs: unsupported,
    setFpuDefaults: unsupported,
    setLapicDefaults: unsupported,
    setMpState: unsupported,
    kick: () => {
      Atomics.store(kick, 0, 1);
      Atomics.notify(kick, 0);
    },
    attachSpec: unsupported,
    close: () => {},
  };
}

/** Script helpers: the guest printing text on COM1, and powering off / resetting through ACPI. */
export const printLine = (text: string): ScriptStep[] =>
  [...Buffer.from(`${text}\n`)].map((b) => ({ out: 0x3f8, bytes: [b] }));
