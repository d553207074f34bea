// struct kvm_msrs + struct kvm_msr_entry (arch/x86/include/uapi/asm/kvm.h): a header
// { nmsrs, pad } followed by nmsrs 16-byte entries { index, reserved, data }.
import type { MsrEntry } from '../../types';
import type { StructLayout } from './layout';

export const MSRS_HEADER_SIZE = 8;
export const MSRS_LAYOUT: StructLayout = {
  cName: 'struct kvm_msrs',
  size: MSRS_HEADER_SIZE,
  fields: { nmsrs: 0, entries: 8 },
};

export const MSR_ENTRY_SIZE = 16;
export const MSR_ENTRY_LAYOUT: StructLayout = {
  cName: 'struct kvm_msr_entry',
  size: MSR_ENTRY_SIZE,
  fields: { index: 0, data: 8 },
};

export function encodeMsrs(entries: readonly MsrEntry[]): Uint8Array {
  const buf = new Uint8Array(MSRS_HEADER_SIZE + entries.length * MSR_ENTRY_SIZE);
  const v = new DataView(buf.buffer);
  v.setUint32(0, entries.length, true);
  entries.forEach((e, i) => {
    const at = MSRS_HEADER_SIZE + i * MSR_ENTRY_SIZE;
    v.setUint32(at, e.index >>> 0, true);
    v.setBigUint64(at + 8, BigInt.asUintN(64, e.data), true);
  });
  return buf;
}

export function readMsrs(buf: Uint8Array, count: number): MsrEntry[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: MsrEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = MSRS_HEADER_SIZE + i * MSR_ENTRY_SIZE;
    out.push({ index: v.getUint32(at, true), data: v.getBigUint64(at + 8, true) });
  }
  return out;
}
