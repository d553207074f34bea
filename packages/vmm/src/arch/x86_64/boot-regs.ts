// Initial register state of the boot vCPU for each entry kind.
// PVH: Xen docs/misc/pvh.pandoc ("Entry point state"): 32-bit protected mode, paging off, CS a flat
// 32-bit execute/read segment, DS/ES/SS flat 32-bit read/write, EBX = hvm_start_info, EFLAGS bit 1
// only. Linux 64-bit: Documentation/arch/x86/boot.rst ("64-bit Boot Protocol"): long mode with
// paging, identity mapping, CS = __BOOT_CS, DS/ES/SS = __BOOT_DS, interrupts off, RSI = boot_params.
import type { X86DescriptorTable, X86Regs, X86Segment, X86Sregs } from '@vmm/hypervisor';
import {
  BOOT_CS32_SELECTOR,
  BOOT_CS64_SELECTOR,
  BOOT_DS_SELECTOR,
  BOOT_TSS_SELECTOR,
  segmentFromGdt,
} from './gdt';
import { BOOT_STACK_POINTER, LAPIC_START } from './layout';

// Control register and EFER bits (Intel SDM vol. 3A §2.5, §2.2.1).
export const CR0_PE = 0x1n;
export const CR0_ET = 0x10n;
export const CR0_PG = 0x8000_0000n;
export const CR4_PAE = 0x20n;
export const EFER_LME = 0x100n;
export const EFER_LMA = 0x400n;
/** RFLAGS with only the always-one bit 1 set (interrupts off). */
export const RFLAGS_BOOT = 0x2n;
/** IA32_APIC_BASE: the default base, enabled (bit 11), bootstrap processor (bit 8). */
export const APIC_BASE_BSP = BigInt(LAPIC_START) | 0x800n | 0x100n;

export interface BootRegisters {
  regs: X86Regs;
  sregs: X86Sregs;
}

function zeroRegs(): X86Regs {
  return {
    rax: 0n,
    rbx: 0n,
    rcx: 0n,
    rdx: 0n,
    rsi: 0n,
    rdi: 0n,
    rsp: 0n,
    rbp: 0n,
    r8: 0n,
    r9: 0n,
    r10: 0n,
    r11: 0n,
    r12: 0n,
    r13: 0n,
    r14: 0n,
    r15: 0n,
    rip: 0n,
    rflags: RFLAGS_BOOT,
  };
}

/** LDTR as after reset: selector 0, present, type LDT (Intel SDM vol. 3A table 9-1). */
function resetLdt(): X86Segment {
  return {
    base: 0n,
    limit: 0xffff,
    selector: 0,
    type: 2,
    present: 1,
    dpl: 0,
    db: 0,
    s: 0,
    l: 0,
    g: 0,
    avl: 0,
    unusable: 0,
  };
}

function flatSregs(csSelector: number, gdt: X86DescriptorTable): X86Sregs {
  return {
    cs: segmentFromGdt(csSelector),
    ds: segmentFromGdt(BOOT_DS_SELECTOR),
    es: segmentFromGdt(BOOT_DS_SELECTOR),
    fs: segmentFromGdt(BOOT_DS_SELECTOR),
    gs: segmentFromGdt(BOOT_DS_SELECTOR),
    ss: segmentFromGdt(BOOT_DS_SELECTOR),
    tr: segmentFromGdt(BOOT_TSS_SELECTOR),
    ldt: resetLdt(),
    gdt,
    idt: { base: 0n, limit: 0 },
    cr0: 0n,
    cr2: 0n,
    cr3: 0n,
    cr4: 0n,
    cr8: 0n,
    efer: 0n,
    apicBase: APIC_BASE_BSP,
  };
}

/** PVH entry: 32-bit protected mode at `entry`, EBX = hvm_start_info. */
export function pvhBootRegisters(entry: number, startInfo: number, gdt: X86DescriptorTable): BootRegisters {
  const regs = zeroRegs();
  regs.rip = BigInt(entry);
  regs.rbx = BigInt(startInfo);
  const sregs = flatSregs(BOOT_CS32_SELECTOR, gdt);
  sregs.cr0 = CR0_PE | CR0_ET;
  return { regs, sregs };
}

/** Linux 64-bit entry: long mode at `entry` with the identity tables at `cr3`, RSI = boot_params. */
export function linux64BootRegisters(
  entry: number,
  zeroPage: number,
  gdt: X86DescriptorTable,
  cr3: bigint,
): BootRegisters {
  const regs = zeroRegs();
  regs.rip = BigInt(entry);
  regs.rsi = BigInt(zeroPage);
  regs.rsp = BigInt(BOOT_STACK_POINTER);
  regs.rbp = BigInt(BOOT_STACK_POINTER);
  const sregs = flatSregs(BOOT_CS64_SELECTOR, gdt);
  sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
  sregs.cr3 = cr3;
  sregs.cr4 = CR4_PAE;
  sregs.efer = EFER_LME | EFER_LMA;
  return { regs, sregs };
}
