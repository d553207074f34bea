// The vCPU exit loop with a fake vCPU that replays exits (no KVM): a device that throws on an exit
// is reported and the vCPU runs on; string I/O is one device access per element; what nothing
// claims reads as all ones; a run() that throws ends the loop with an error.
import { describe, expect, it, vi } from 'vitest';
import type { IoExit, Vcpu, VmExit } from '@vmm/hypervisor';
import { PioBus, type PioDevice } from '../devices/pio-bus';
import { handleExit, runExitLoop } from './exit-loop';

/** A vCPU whose run() returns `exits` in order (or throws what is an Error), then fails the test. */
function fakeVcpu(exits: (VmExit | Error)[]): Vcpu {
  let next = 0;
  const unsupported = (): never => {
    throw new Error('not part of this test');
  };
  return {
    id: 0,
    run(): VmExit {
      const e = exits[next++];
      if (e === undefined) throw new Error('the loop ran past the script');
      if (e instanceof Error) throw e;
      return e;
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
    kick: unsupported,
    attachSpec: unsupported,
    close: unsupported,
  };
}

const io = (direction: 'in' | 'out', port: number, size: number, data: number[]): IoExit => ({
  kind: 'io',
  direction,
  port,
  size,
  count: data.length / size,
  data: Uint8Array.from(data),
});

/** A port device that records each access and answers reads with 0x10, 0x11, ... */
class Recorder implements PioDevice {
  readonly writes: number[][] = [];
  reads = 0;
  pioRead(_port: number, data: Uint8Array): void {
    data.fill(0x10 + this.reads++);
  }
  pioWrite(_port: number, data: Uint8Array): void {
    this.writes.push([...data]);
  }
}

const noStop = { pending: () => undefined };

describe('vCPU exit loop', () => {
  it('a device that throws on an exit is reported once and the vCPU runs on to its poweroff', () => {
    const pio = new PioBus();
    const bug = new Error('a bug in the device model');
    pio.add(0x10, 1, {
      pioRead: () => {},
      pioWrite: () => {
        throw bug;
      },
    });
    const after = new Recorder();
    pio.add(0x20, 1, after);
    const deviceError = vi.fn();
    const stop = runExitLoop(
      fakeVcpu([
        io('out', 0x10, 1, [1]),
        io('out', 0x20, 1, [2]),
        { kind: 'system-event', type: 'shutdown', raw: 1 },
      ]),
      { pio, mmio: null },
      { ...noStop, deviceError },
    );
    expect(stop).toEqual({ reason: 'poweroff' });
    expect(deviceError).toHaveBeenCalledTimes(1);
    expect(deviceError).toHaveBeenCalledWith(bug);
    expect(after.writes).toEqual([[2]]); // the exit after the failed one was served
  });

  it('a run() that throws ends the loop with an error that carries its message', () => {
    const stop = runExitLoop(
      fakeVcpu([new Error('KVM_RUN failed: EFAULT')]),
      { pio: new PioBus(), mmio: null },
      noStop,
    );
    expect(stop).toEqual({ reason: 'error', detail: 'KVM_RUN failed: EFAULT' });
  });

  it('what hooks.pending says after an exit ends the loop', () => {
    const pio = new PioBus();
    const r = new Recorder();
    pio.add(0x20, 1, r);
    const stop = runExitLoop(
      fakeVcpu([io('out', 0x20, 1, [7])]),
      { pio, mmio: null },
      {
        pending: () => (r.writes.length > 0 ? { reason: 'stopped' } : undefined),
      },
    );
    expect(stop).toEqual({ reason: 'stopped' });
  });

  it('string I/O: one access per element, in order, each element its own slice', () => {
    const pio = new PioBus();
    const r = new Recorder();
    pio.add(0x20, 1, r);
    handleExit(io('out', 0x20, 2, [1, 2, 3, 4, 5, 6]), { pio, mmio: null }); // rep outsw, count 3
    expect(r.writes).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const ins = io('in', 0x20, 2, [0, 0, 0, 0, 0, 0]); // rep insw, count 3
    handleExit(ins, { pio, mmio: null });
    expect([...ins.data]).toEqual([0x10, 0x10, 0x11, 0x11, 0x12, 0x12]);
  });

  it('ports and MMIO nothing claims read as all ones, only the bytes accessed; writes are dropped', () => {
    const pio = new PioBus();
    const ins = io('in', 0x1f0, 2, [0, 0, 0, 0, 0, 0, 0, 0]); // rep insw, count 4
    handleExit(ins, { pio, mmio: null });
    expect([...ins.data]).toEqual(Array(8).fill(0xff));
    const read = {
      kind: 'mmio',
      direction: 'read',
      address: 0xc000_0000,
      len: 2,
      data: new Uint8Array(8),
    } as const;
    handleExit(read, { pio, mmio: null });
    expect([...read.data]).toEqual([0xff, 0xff, 0, 0, 0, 0, 0, 0]);
    // A forwarder that cannot answer (the devices are shutting down) is the same as none.
    const closed = { call: () => false };
    const read4 = { ...read, len: 4, data: new Uint8Array(8) };
    handleExit(read4, { pio, mmio: closed });
    expect([...read4.data.subarray(0, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    const write = {
      kind: 'mmio',
      direction: 'write',
      address: 0xc000_0000,
      len: 4,
      data: Uint8Array.of(1, 2, 3, 4),
    } as const;
    expect(handleExit(write, { pio, mmio: closed })).toBeUndefined();
    expect([...write.data.subarray(0, 4)]).toEqual([1, 2, 3, 4]);
  });
});
