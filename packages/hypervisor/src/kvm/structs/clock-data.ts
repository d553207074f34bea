// struct kvm_clock_data (include/uapi/linux/kvm.h): the VM's kvmclock, as KVM_GET_CLOCK and
// KVM_SET_CLOCK carry it. `clock` is the kvmclock in ns; with KVM_CLOCK_REALTIME in `flags`,
// `realtime` is the host's CLOCK_REALTIME at that moment, and KVM_SET_CLOCK advances the clock by
// the wall time since then (Documentation/virt/kvm/api.rst, KVM_GET_CLOCK / KVM_SET_CLOCK).
import type { StructLayout } from './layout';

export const CLOCK_DATA_SIZE = 48;
export const CLOCK_DATA_LAYOUT: StructLayout = {
  cName: 'struct kvm_clock_data',
  size: CLOCK_DATA_SIZE,
  fields: { clock: 0, flags: 8, pad0: 12, realtime: 16, host_tsc: 24, pad: 32 },
};

export interface ClockData {
  clock: bigint;
  flags: number;
  realtime: bigint;
  hostTsc: bigint;
}

export function readClockData(buf: Uint8Array): ClockData {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const f = CLOCK_DATA_LAYOUT.fields;
  return {
    clock: v.getBigUint64(f.clock!, true),
    flags: v.getUint32(f.flags!, true),
    realtime: v.getBigUint64(f.realtime!, true),
    hostTsc: v.getBigUint64(f.host_tsc!, true),
  };
}

/** A kvm_clock_data with these fields, the padding zero. */
export function encodeClockData(c: ClockData): Uint8Array {
  const buf = new Uint8Array(CLOCK_DATA_SIZE);
  const v = new DataView(buf.buffer);
  const f = CLOCK_DATA_LAYOUT.fields;
  v.setBigUint64(f.clock!, BigInt.asUintN(64, c.clock), true);
  v.setUint32(f.flags!, c.flags >>> 0, true);
  v.setBigUint64(f.realtime!, BigInt.asUintN(64, c.realtime), true);
  v.setBigUint64(f.host_tsc!, BigInt.asUintN(64, c.hostTsc), true);
  return buf;
}
