// The exit decoder over a kvm_run page laid out by hand at the offsets the ABI test checks against
// <linux/kvm.h>: what KVM writes is what run() reports, and no exit allocates a new object.
import { describe, expect, it } from 'vitest';
import {
  KVM_EXIT_FAIL_ENTRY,
  KVM_EXIT_HLT,
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_IO,
  KVM_EXIT_IO_IN,
  KVM_EXIT_IO_OUT,
  KVM_EXIT_MMIO,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_SYSTEM_EVENT_RESET,
} from './constants';
import { ExitDecoder } from './exits';
import { RUN_LAYOUT } from './structs/run';

const F = RUN_LAYOUT.fields as Record<string, number>;

function page() {
  const bytes = new Uint8Array(3 * 4096);
  const view = new DataView(bytes.buffer);
  return { bytes, view, decoder: new ExitDecoder(bytes, view) };
}

describe('ExitDecoder', () => {
  it('io out: port, size, count and a view of the data at data_offset', () => {
    const { bytes, view, decoder } = page();
    view.setUint32(F['exit_reason']!, KVM_EXIT_IO, true);
    view.setUint8(F['io.direction']!, KVM_EXIT_IO_OUT);
    view.setUint8(F['io.size']!, 1);
    view.setUint16(F['io.port']!, 0x3f8, true);
    view.setUint32(F['io.count']!, 1, true);
    view.setBigUint64(F['io.data_offset']!, 4096n, true);
    bytes[4096] = 0x41;
    const e = decoder.decode();
    expect(e).toMatchObject({ kind: 'io', direction: 'out', port: 0x3f8, size: 1, count: 1 });
    if (e.kind !== 'io') throw new Error('not io');
    expect([...e.data]).toEqual([0x41]);
    // An `in`: the handler's bytes land in the kvm_run page, where KVM reads them.
    view.setUint8(F['io.direction']!, KVM_EXIT_IO_IN);
    view.setUint8(F['io.size']!, 2);
    const e2 = decoder.decode();
    expect(e2).toBe(e); // the same preallocated object
    if (e2.kind !== 'io') throw new Error('not io');
    e2.data.set([0x34, 0x12]);
    expect(view.getUint16(4096, true)).toBe(0x1234);
    // The data view is cached per (offset, length): no allocation on the next identical exit.
    const d = e2.data;
    expect((decoder.decode() as typeof e2).data).toBe(d);
  });

  it('string io: size*count bytes; a data range outside the page is refused', () => {
    const { view, decoder } = page();
    view.setUint32(F['exit_reason']!, KVM_EXIT_IO, true);
    view.setUint8(F['io.size']!, 4);
    view.setUint32(F['io.count']!, 3, true);
    view.setBigUint64(F['io.data_offset']!, 4096n, true);
    expect((decoder.decode() as { data: Uint8Array }).data.length).toBe(12);
    view.setBigUint64(F['io.data_offset']!, BigInt(3 * 4096 - 8), true);
    expect(decoder.decode()).toEqual({ kind: 'unknown', reason: KVM_EXIT_IO });
  });

  it('mmio read and write', () => {
    const { bytes, view, decoder } = page();
    view.setUint32(F['exit_reason']!, KVM_EXIT_MMIO, true);
    view.setBigUint64(F['mmio.phys_addr']!, 0xd000_0000n, true);
    view.setUint32(F['mmio.len']!, 4, true);
    view.setUint8(F['mmio.is_write']!, 1);
    bytes.set([1, 2, 3, 4], F['mmio.data']!);
    const e = decoder.decode();
    expect(e).toMatchObject({ kind: 'mmio', direction: 'write', address: 0xd000_0000, len: 4 });
    expect([...(e as { data: Uint8Array }).data]).toEqual([1, 2, 3, 4]);
    view.setUint8(F['mmio.is_write']!, 0);
    view.setUint32(F['mmio.len']!, 9, true);
    expect(decoder.decode()).toMatchObject({ kind: 'unknown' });
  });

  it('hlt, shutdown, system event, internal error, fail entry', () => {
    const { view, decoder } = page();
    const at = (reason: number) => (view.setUint32(F['exit_reason']!, reason, true), decoder.decode());
    expect(at(KVM_EXIT_HLT)).toEqual({ kind: 'hlt' });
    expect(at(KVM_EXIT_SHUTDOWN)).toEqual({ kind: 'shutdown' });
    view.setUint32(F['system_event.type']!, KVM_SYSTEM_EVENT_RESET, true);
    expect(at(KVM_EXIT_SYSTEM_EVENT)).toEqual({ kind: 'system-event', type: 'reset', raw: 2 });
    view.setUint32(F['internal.suberror']!, 1, true);
    view.setUint32(F['internal.ndata']!, 2, true);
    view.setBigUint64(F['internal.data']!, 0x0f01d0n, true);
    view.setBigUint64(F['internal.data']! + 8, 3n, true);
    expect(at(KVM_EXIT_INTERNAL_ERROR)).toEqual({
      kind: 'internal-error',
      suberror: 1,
      data: [0x0f01d0n, 3n],
    });
    view.setUint32(F['internal.ndata']!, 1000, true); // clamped to the 16 the union holds
    expect((at(KVM_EXIT_INTERNAL_ERROR) as unknown as { data: bigint[] }).data).toHaveLength(16);
    view.setBigUint64(F['fail_entry.hardware_entry_failure_reason']!, 0x80000021n, true);
    expect(at(KVM_EXIT_FAIL_ENTRY)).toEqual({ kind: 'fail-entry', reason: 0x80000021n });
    expect(at(99)).toEqual({ kind: 'unknown', reason: 99 });
  });
});
