// struct kvm_sregs (arch/x86/include/uapi/asm/kvm.h): segments, descriptor tables, control
// registers, EFER, APIC base, and the pending-interrupt bitmap.
import type { X86Sregs } from '../../types';
import type { StructLayout } from './layout';
import { readDtable, readSegment, writeDtable, writeSegment } from './segment';

const SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;

export const SREGS_SIZE = 312;
export const SREGS_LAYOUT: StructLayout = {
  cName: 'struct kvm_sregs',
  size: SREGS_SIZE,
  fields: {
    cs: 0,
    ds: 24,
    es: 48,
    fs: 72,
    gs: 96,
    ss: 120,
    tr: 144,
    ldt: 168,
    gdt: 192,
    idt: 208,
    cr0: 224,
    cr2: 232,
    cr3: 240,
    cr4: 248,
    cr8: 256,
    efer: 264,
    apic_base: 272,
    interrupt_bitmap: 280,
  },
};
const F = SREGS_LAYOUT.fields as Record<string, number>;
const at = (name: string): number => F[name]!;

export function readSregs(v: DataView): X86Sregs {
  return {
    cs: readSegment(v, at('cs')),
    ds: readSegment(v, at('ds')),
    es: readSegment(v, at('es')),
    fs: readSegment(v, at('fs')),
    gs: readSegment(v, at('gs')),
    ss: readSegment(v, at('ss')),
    tr: readSegment(v, at('tr')),
    ldt: readSegment(v, at('ldt')),
    gdt: readDtable(v, at('gdt')),
    idt: readDtable(v, at('idt')),
    cr0: v.getBigUint64(at('cr0'), true),
    cr2: v.getBigUint64(at('cr2'), true),
    cr3: v.getBigUint64(at('cr3'), true),
    cr4: v.getBigUint64(at('cr4'), true),
    cr8: v.getBigUint64(at('cr8'), true),
    efer: v.getBigUint64(at('efer'), true),
    apicBase: v.getBigUint64(at('apic_base'), true),
  };
}

/**
 * Writes every field we model. The interrupt bitmap is left as it is in `v`: do a KVM_GET_SREGS
 * into the same buffer first, so a pending interrupt is not lost.
 */
export function writeSregs(v: DataView, s: X86Sregs): void {
  for (const name of SEGMENTS) writeSegment(v, at(name), s[name]);
  writeDtable(v, at('gdt'), s.gdt);
  writeDtable(v, at('idt'), s.idt);
  v.setBigUint64(at('cr0'), BigInt.asUintN(64, s.cr0), true);
  v.setBigUint64(at('cr2'), BigInt.asUintN(64, s.cr2), true);
  v.setBigUint64(at('cr3'), BigInt.asUintN(64, s.cr3), true);
  v.setBigUint64(at('cr4'), BigInt.asUintN(64, s.cr4), true);
  v.setBigUint64(at('cr8'), BigInt.asUintN(64, s.cr8), true);
  v.setBigUint64(at('efer'), BigInt.asUintN(64, s.efer), true);
  v.setBigUint64(at('apic_base'), BigInt.asUintN(64, s.apicBase), true);
}
