// struct kvm_regs (arch/x86/include/uapi/asm/kvm.h): the general-purpose registers, 18 x __u64.
import type { X86Regs } from '../../types';
import type { StructLayout } from './layout';

const NAMES = [
  'rax',
  'rbx',
  'rcx',
  'rdx',
  'rsi',
  'rdi',
  'rsp',
  'rbp',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
  'rip',
  'rflags',
] as const satisfies readonly (keyof X86Regs)[];

export const REGS_SIZE = 144;

export const REGS_LAYOUT: StructLayout = {
  cName: 'struct kvm_regs',
  size: REGS_SIZE,
  fields: Object.fromEntries(NAMES.map((n, i) => [n, i * 8])),
};

export function readRegs(view: DataView): X86Regs {
  const r = {} as X86Regs;
  for (let i = 0; i < NAMES.length; i++) r[NAMES[i]!] = view.getBigUint64(i * 8, true);
  return r;
}

export function writeRegs(view: DataView, regs: X86Regs): void {
  for (let i = 0; i < NAMES.length; i++) view.setBigUint64(i * 8, BigInt.asUintN(64, regs[NAMES[i]!]), true);
}
