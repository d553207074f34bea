// Round trips through the struct modules (offsets are checked against gcc in ../abi.test.ts).
import { describe, expect, it } from 'vitest';
import type { X86Regs, X86Segment, X86Sregs } from '../../types';
import { CLOCK_DATA_SIZE, encodeClockData, readClockData } from './clock-data';
import { encodeCpuid2, readCpuid2 } from './cpuid2';
import { FPU_SIZE, readFpu, writeFpuDefaults } from './fpu';
import {
  APIC_LVT_LINT0,
  APIC_LVT_LINT1,
  APIC_MODE_EXTINT,
  APIC_SPIV,
  LAPIC_STATE_SIZE,
  lapicRegister,
  lvtDeliveryMode,
  setLvtDeliveryMode,
} from './lapic-state';
import { allocIrqchip, ioapicRedirection, IRQCHIP_SIZE, irqchipId, picImr } from './irqchip';
import { allocMsrList, msrListCount, readMsrList } from './msr-list';
import { encodeMsrs, readMsrs } from './msrs';
import { pitCountLoadTimeOffset } from './pit-state2';
import { readRegs, REGS_SIZE, writeRegs } from './regs';
import { readSregs, SREGS_SIZE, writeSregs } from './sregs';
import { readXcr, XCRS_SIZE } from './xcrs';

const seg = (n: number): X86Segment => ({
  base: BigInt(n) << 32n,
  limit: 0xfffff,
  selector: n * 8,
  type: 11,
  present: 1,
  dpl: 0,
  db: 0,
  s: 1,
  l: 1,
  g: 1,
  avl: 0,
  unusable: 0,
});

describe('KVM struct codecs', () => {
  it('kvm_regs round trip (and -1 wraps to 2^64-1)', () => {
    const names = [
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
    ];
    const regs = Object.fromEntries(names.map((n, i) => [n, BigInt(i + 1) * 0x1111n])) as unknown as X86Regs;
    const v = new DataView(new ArrayBuffer(REGS_SIZE));
    writeRegs(v, { ...regs, rax: -1n });
    expect(readRegs(v)).toEqual({ ...regs, rax: 0xffff_ffff_ffff_ffffn });
    expect(v.getBigUint64(16 * 8, true)).toBe(regs.rip);
  });

  it('kvm_sregs round trip keeps the interrupt bitmap', () => {
    const v = new DataView(new ArrayBuffer(SREGS_SIZE));
    v.setBigUint64(280, 0xabcn, true);
    const s: X86Sregs = {
      cs: seg(1),
      ds: seg(2),
      es: seg(3),
      fs: seg(4),
      gs: seg(5),
      ss: seg(6),
      tr: seg(7),
      ldt: seg(8),
      gdt: { base: 0x500n, limit: 0x27 },
      idt: { base: 0x600n, limit: 0xfff },
      cr0: 0x80050033n,
      cr2: 0n,
      cr3: 0x9000n,
      cr4: 0x20n,
      cr8: 0n,
      efer: 0x500n,
      apicBase: 0xfee00900n,
    };
    writeSregs(v, s);
    expect(readSregs(v)).toEqual(s);
    expect(v.getBigUint64(280, true)).toBe(0xabcn);
  });

  it('kvm_cpuid2 and kvm_msrs round trips', () => {
    const entries = [
      { function: 0, index: 0, flags: 0, eax: 0xd, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 },
      { function: 0x80000001, index: 0, flags: 1, eax: 1, ebx: 2, ecx: 3, edx: 0xffffffff },
    ];
    expect(readCpuid2(encodeCpuid2(entries))).toEqual(entries);
    const msrs = [
      { index: 0xc0000080, data: 0x500n },
      { index: 0x10, data: 2n ** 63n },
    ];
    expect(readMsrs(encodeMsrs(msrs), 2)).toEqual(msrs);
  });

  it('FPU defaults and LAPIC LVT delivery mode', () => {
    const f = new DataView(new ArrayBuffer(FPU_SIZE));
    f.setUint8(0, 0xff);
    writeFpuDefaults(f);
    expect([f.getUint8(0), f.getUint16(128, true), f.getUint32(408, true)]).toEqual([0, 0x37f, 0x1f80]);
    const l = new DataView(new ArrayBuffer(LAPIC_STATE_SIZE));
    l.setUint32(APIC_LVT_LINT0, 0x1_04ff, true); // masked, NMI mode, vector 0xff
    setLvtDeliveryMode(l, APIC_LVT_LINT0, APIC_MODE_EXTINT);
    expect(l.getUint32(APIC_LVT_LINT0, true)).toBe(0x1_07ff);
  });

  it('kvm_fpu read: every field KVM_GET_FPU fills, at its offset, byte arrays copied', () => {
    const buf = new Uint8Array(FPU_SIZE + 8);
    const f = new DataView(buf.buffer, 8, FPU_SIZE); // not at the start of its buffer
    for (let i = 0; i < 128; i++) f.setUint8(i, i); // fpr
    f.setUint16(128, 0x27f, true);
    f.setUint16(130, 0x3800, true);
    f.setUint8(132, 0x81);
    f.setUint16(134, 0x5d9, true);
    f.setBigUint64(136, 0x1234n, true);
    f.setBigUint64(144, 0xfff0_0000_5678n, true);
    for (let i = 0; i < 256; i++) f.setUint8(152 + i, 255 - i); // xmm
    f.setUint32(408, 0x3f80, true);
    const fpu = readFpu(f);
    expect(fpu).toMatchObject({
      fcw: 0x27f,
      fsw: 0x3800,
      ftwx: 0x81,
      lastOpcode: 0x5d9,
      lastIp: 0x1234n,
      lastDp: 0xfff0_0000_5678n,
    });
    expect('mxcsr' in fpu).toBe(false); // KVM_GET_FPU does not report it
    expect([fpu.fpr.length, fpu.fpr[0], fpu.fpr[127]]).toEqual([128, 0, 127]);
    expect([fpu.xmm.length, fpu.xmm[0], fpu.xmm[255]]).toEqual([256, 255, 0]);
    buf.fill(0);
    expect(fpu.xmm[0]).toBe(255);
    writeFpuDefaults(f);
    expect(readFpu(f)).toMatchObject({ fcw: 0x37f, fsw: 0, ftwx: 0 });
  });

  it('LAPIC register page read: a register, an LVT delivery mode', () => {
    const l = new DataView(new ArrayBuffer(LAPIC_STATE_SIZE));
    l.setUint32(APIC_SPIV, 0x1ff, true);
    l.setUint32(APIC_LVT_LINT1, 0x1_04ff, true);
    expect(lapicRegister(l, APIC_SPIV)).toBe(0x1ff);
    expect(lvtDeliveryMode(l, APIC_LVT_LINT1)).toBe(0x400);
    expect(lvtDeliveryMode(l, APIC_LVT_LINT0)).toBe(0);
  });

  it('the saved-state structs: kvm_clock_data, kvm_irqchip, kvm_msr_list, kvm_xcrs, kvm_pit_state2', () => {
    const clock = { clock: 123_456_789n, flags: 6, realtime: 1_767_000_000_000_000_000n, hostTsc: 2n ** 63n };
    const c = encodeClockData(clock);
    expect([c.length, readClockData(c)]).toEqual([CLOCK_DATA_SIZE, clock]);
    expect(new DataView(c.buffer).getUint32(12, true)).toBe(0); // pad0

    const chip = allocIrqchip(2);
    expect([chip.length, irqchipId(chip)]).toEqual([IRQCHIP_SIZE, 2]);
    new DataView(chip.buffer).setBigUint64(8 + 24 + 5 * 8, 0x1_8055n, true); // chip.ioapic.redirtbl[5]
    expect(ioapicRedirection(chip, 5)).toBe(0x1_8055n);
    const pic = allocIrqchip(0);
    pic[8 + 2] = 0xfb; // chip.pic.imr
    expect(picImr(pic)).toBe(0xfb);

    const list = allocMsrList(3);
    const lv = new DataView(list.buffer);
    [0x10, 0x174, 0xc0000080].forEach((m, i) => lv.setUint32(4 + i * 4, m, true));
    expect(readMsrList(list)).toEqual([0x10, 0x174, 0xc0000080]);
    lv.setUint32(0, 99, true); // after E2BIG: the count KVM needs, more than fits
    expect([msrListCount(list), readMsrList(list).length]).toEqual([99, 3]);

    const xcrs = new DataView(new ArrayBuffer(XCRS_SIZE));
    xcrs.setUint32(0, 2, true); // nr_xcrs
    xcrs.setUint32(8 + 16, 1, true); // xcrs[1].xcr = 1
    xcrs.setBigUint64(8 + 16 + 8, 0x7n, true);
    xcrs.setBigUint64(8 + 8, 0x3n, true); // xcrs[0]: XCR0 = 3
    expect([readXcr(xcrs, 0), readXcr(xcrs, 1), readXcr(xcrs, 2)]).toEqual([3n, 7n, undefined]);

    expect([0, 1, 2].map(pitCountLoadTimeOffset)).toEqual([16, 40, 64]);
  });
});
