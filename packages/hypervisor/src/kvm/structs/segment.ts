// struct kvm_segment and struct kvm_dtable (arch/x86/include/uapi/asm/kvm.h).
import type { X86DescriptorTable, X86Segment } from '../../types';
import type { StructLayout } from './layout';

export const SEGMENT_SIZE = 24;
export const SEGMENT_LAYOUT: StructLayout = {
  cName: 'struct kvm_segment',
  size: SEGMENT_SIZE,
  fields: {
    base: 0,
    limit: 8,
    selector: 12,
    type: 14,
    present: 15,
    dpl: 16,
    db: 17,
    s: 18,
    l: 19,
    g: 20,
    avl: 21,
    unusable: 22,
  },
};

export const DTABLE_SIZE = 16;
export const DTABLE_LAYOUT: StructLayout = {
  cName: 'struct kvm_dtable',
  size: DTABLE_SIZE,
  fields: { base: 0, limit: 8 },
};

export function readSegment(v: DataView, at: number): X86Segment {
  return {
    base: v.getBigUint64(at, true),
    limit: v.getUint32(at + 8, true),
    selector: v.getUint16(at + 12, true),
    type: v.getUint8(at + 14),
    present: v.getUint8(at + 15),
    dpl: v.getUint8(at + 16),
    db: v.getUint8(at + 17),
    s: v.getUint8(at + 18),
    l: v.getUint8(at + 19),
    g: v.getUint8(at + 20),
    avl: v.getUint8(at + 21),
    unusable: v.getUint8(at + 22),
  };
}

export function writeSegment(v: DataView, at: number, s: X86Segment): void {
  v.setBigUint64(at, BigInt.asUintN(64, s.base), true);
  v.setUint32(at + 8, s.limit >>> 0, true);
  v.setUint16(at + 12, s.selector, true);
  v.setUint8(at + 14, s.type);
  v.setUint8(at + 15, s.present);
  v.setUint8(at + 16, s.dpl);
  v.setUint8(at + 17, s.db);
  v.setUint8(at + 18, s.s);
  v.setUint8(at + 19, s.l);
  v.setUint8(at + 20, s.g);
  v.setUint8(at + 21, s.avl);
  v.setUint8(at + 22, s.unusable);
  v.setUint8(at + 23, 0);
}

export function readDtable(v: DataView, at: number): X86DescriptorTable {
  return { base: v.getBigUint64(at, true), limit: v.getUint16(at + 8, true) };
}

export function writeDtable(v: DataView, at: number, t: X86DescriptorTable): void {
  v.setBigUint64(at, BigInt.asUintN(64, t.base), true);
  v.setUint16(at + 8, t.limit, true);
  for (let i = 10; i < DTABLE_SIZE; i++) v.setUint8(at + i, 0);
}
