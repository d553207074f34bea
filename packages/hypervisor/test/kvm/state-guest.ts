// Tests only: the guest of state.test.ts, a 32-bit protected-mode program (flat segments, no
// paging) that leaves state in every part of the vCPU and its VM, then reads a byte from port 0xe9
// (the test saves the VM at that exit, with the `in` not yet complete), stores it, and waits in
// `sti; hlt` for its LAPIC timer; the timer's handler writes what it finds into OUT and says 2 on
// the port. It never returns from the interrupt (32-bit iret fails on software-emulated KVM:
// docs/testing.md), so the run ends there.
//
// Left behind at the `in`: general registers (ebx, esi, edi, ebp), MSRs (IA32_SYSENTER_ESP and
// IA32_PAT), XCR0, the x87 and SSE registers with a non-default control word and MXCSR (fxrstor of FX_IN:
// software-emulated KVM runs fxrstor and fxsave but not fldcw, ldmxcsr or stmxcsr), DR0 (debug
// registers), both 8259s masked, an IOAPIC redirection entry, PIT channel 0 in mode 2, a
// software-enabled LAPIC with a one-shot timer counting down, NMIs blocked (it sent itself one
// and the NMI handler, which goes on with the program, never returns). The timer's handler reads
// back what the guest can see of each (the PIT's mode by a read-back command) and fxsaves the x87/SSE state.
import type { GuestMemory, Vcpu } from '../../src/types';

export const CODE = 0x1000;
export const HANDLER = 0x1200;
export const NMI_HANDLER = 0x1400;
export const GDT = 0x500;
export const IDT = 0x600;
/** The FXSAVE image the guest loads (Intel SDM Vol. 1 §10.5.1, Table 10-2); 16-byte aligned. */
export const FX_IN = 0x2000;
export const OUT = 0x3000;
/** Where the handler fxsaves: OUT + 128. */
export const FX_OUT_OFFSET = 128;
export const OUT_SIZE = FX_OUT_OFFSET + 512;
export const STACK = 0x8000;
export const PORT = 0xe9;
export const TIMER_VECTOR = 0x40;

/** What the test's `in` handler answers the first time; a second ask (the `in` run again) gets another. */
export const IN_VALUE = 0x5a;
/** PIT channel 0: lobyte/hibyte, mode 2, binary (8254 datasheet, control word), and its count. */
export const PIT_CONTROL = 0x34;
export const PIT_COUNT = 0x1234;

/** LAPIC timer initial count: 300 ms at KVM's 1 GHz APIC bus clock with divide-by-1. */
export const TIMER_COUNT = 300_000_000;
/** x87 and SSE state enabled (Intel SDM Vol. 1 §13.3): not the reset value 1. */
export const XCR0 = 3;
export const EBX = 0x11223344;
export const ESI = 0x55667788;
export const EDI = 0x99aabbcc;
export const EBP = 0xddeeff00;
export const SYSENTER_ESP = 0x175;
export const SYSENTER_ESP_VALUE = 0x0000_1234_cafe_f00dn;
export const PAT = 0x277;
/** Each byte a valid memory type (Intel SDM Vol. 3A §11.12.2); not the reset value 0x0007040600070406. */
export const PAT_VALUE = 0x0007_0406_0107_0106n;
/** xmm0..xmm7 (all 32-bit code reaches): 16 bytes each, xmm i byte j = 0x10 * i + j. */
export const XMM = Uint8Array.from({ length: 128 }, (_, k) => k);
/** Precision 53 bits, not the reset 64: Intel SDM Vol. 1 §8.1.5. */
export const FCW = 0x027f;
/** The reset value 0x1f80 with RC = 01 (round down): Intel SDM Vol. 1 §10.2.3. */
export const MXCSR = 0x3f80;
/** ST0 = 1.0 (80-bit extended: significand 1 << 63, exponent 0x3fff), tagged valid. */
export const ST0 = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f]);
export const DR0 = 0x0012_3450;
/** IOAPIC pin 5: vector 0x55, level-triggered, masked, to APIC ID 0 (82093AA datasheet §3.2.4). */
export const IOAPIC_PIN = 5;
export const IOAPIC_ENTRY = 0x0001_8055n;

const le32 = (v: number | bigint) => {
  const x = Number(BigInt.asUintN(32, BigInt(v)));
  return [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24];
};
/** mov dword [addr], value */
const store = (addr: number, value: number) => [0xc7, 0x05, ...le32(addr), ...le32(value)];
/** wrmsr of `msr` with a 64-bit value */
// prettier-ignore
const wrmsr = (msr: number, v: bigint) => [0xb9, ...le32(msr), 0xb8, ...le32(v), 0xba, ...le32(v >> 32n), 0x0f, 0x30];
/** rdmsr of `msr` into OUT+at (eax) and OUT+at+4 (edx) */
// prettier-ignore
const rdmsr = (msr: number, at: number) =>
  [0xb9, ...le32(msr), 0x0f, 0x32, 0xa3, ...le32(OUT + at), 0x89, 0x15, ...le32(OUT + at + 4)];

// prettier-ignore
const MAIN = [
  0xb0, 0xff, 0xe6, 0x21, 0xe6, 0xa1,                  // mask both 8259s
  0xb0, PIT_CONTROL, 0xe6, 0x43,                       // PIT channel 0: mode 2
  0xb0, PIT_COUNT & 0xff, 0xe6, 0x40, 0xb0, PIT_COUNT >> 8, 0xe6, 0x40,
  ...store(0xfec00000, 0x10 + 2 * IOAPIC_PIN),         // IOREGSEL: redirection entry 5, low half
  ...store(0xfec00010, Number(IOAPIC_ENTRY)),          // IOWIN
  ...store(0xfee000f0, 0x1ff),                         // LAPIC on, spurious vector 0xff
  ...store(0xfee003e0, 0xb),                           // timer divide by 1
  ...store(0xfee00320, TIMER_VECTOR),                  // LVT timer: one-shot, unmasked
  0xbb, ...le32(EBX), 0xbe, ...le32(ESI), 0xbf, ...le32(EDI), 0xbd, ...le32(EBP),
  ...wrmsr(SYSENTER_ESP, SYSENTER_ESP_VALUE),
  ...wrmsr(PAT, PAT_VALUE),
  0x31, 0xc9, 0x31, 0xd2, 0xb8, ...le32(XCR0),         // xor ecx, ecx ; xor edx, edx ; mov eax, XCR0
  0x0f, 0x01, 0xd1,                                    // xsetbv
  0x0f, 0xae, 0x0d, ...le32(FX_IN),                    // fxrstor [FX_IN]
  0xb8, ...le32(DR0), 0x0f, 0x23, 0xc0,                // mov dr0, eax
  ...store(0xfee00380, TIMER_COUNT),                   // timer initial count: it starts
  ...store(0xfee00300, 0x44400),                       // ICR: an NMI to itself (Intel SDM Vol. 3A §11.6.1)
  0xeb, 0xfe,                                          // jmp $ until it arrives
];

/** The NMI handler goes on with the program: no iret, so NMIs stay blocked (kvm_vcpu_events.nmi.masked). */
// prettier-ignore
const NMI_CONTINUATION = [
  0xe4, PORT,                                          // in al, 0xe9: the test saves here
  0xa2, ...le32(OUT + 84),                             // mov [OUT+84], al
  0xfb,                                                // sti
  0xf4,                                                // hlt
  0xeb, 0xfd,                                          // jmp to the hlt
];
/** The instruction after the `in`. */
export const MAIN_AFTER_IN = NMI_HANDLER + 2;
/** Where the timer interrupt arrives: after the hlt. */
export const MAIN_AFTER_HLT = NMI_HANDLER + NMI_CONTINUATION.length - 2;

// prettier-ignore
const TIMER_HANDLER = [
  0x89, 0x1d, ...le32(OUT + 0),                        // mov [OUT], ebx
  0x89, 0x35, ...le32(OUT + 4),                        // esi
  0x89, 0x3d, ...le32(OUT + 8),                        // edi
  0x89, 0x2d, ...le32(OUT + 12),                       // ebp
  ...rdmsr(SYSENTER_ESP, 16),
  ...rdmsr(PAT, 24),
  0xf3, 0x0f, 0x7f, 0x1d, ...le32(OUT + 32),           // movdqu [OUT+32], xmm3
  0xd9, 0x3d, ...le32(OUT + 48),                       // fnstcw [OUT+48]
  0x0f, 0xae, 0x05, ...le32(OUT + FX_OUT_OFFSET),      // fxsave [OUT+128]
  0x0f, 0x21, 0xc0, 0xa3, ...le32(OUT + 56),           // mov eax, dr0 ; mov [OUT+56], eax
  0xa1, ...le32(0xfee00320), 0xa3, ...le32(OUT + 60),  // LVT timer
  0xa1, ...le32(0xfee00390), 0xa3, ...le32(OUT + 64),  // current count: 0 once it fired
  0x8b, 0x04, 0x24, 0xa3, ...le32(OUT + 68),           // the EIP the interrupt pushed
  0xe4, 0x21, 0xa2, ...le32(OUT + 72),                 // in al, 0x21: master IMR
  0xe4, 0xa1, 0xa2, ...le32(OUT + 73),                 // slave IMR
  ...store(0xfec00000, 0x10 + 2 * IOAPIC_PIN),         // IOREGSEL: the entry
  0xa1, ...le32(0xfec00010), 0xa3, ...le32(OUT + 76),  // mov eax, [IOWIN]
  0xb0, 0xe2, 0xe6, 0x43,                              // PIT read-back: status of channel 0
  0xe4, 0x40, 0x24, 0x7f, 0xa2, ...le32(OUT + 80),     // in al, 0x40 ; and al, 0x7f (not OUT's level)
  ...store(0xfee000b0, 0),                             // EOI
  0xb0, 0x02, 0xe6, PORT,                              // out 0xe9, 2: done
  0xf4, 0xeb, 0xfd,                                    // hlt forever
];

/** What an uninterrupted run leaves in OUT before the fxsave image (see fxImageOf). */
export function expectedOut(): Uint8Array {
  const out = new Uint8Array(FX_OUT_OFFSET);
  const v = new DataView(out.buffer);
  [EBX, ESI, EDI, EBP].forEach((x, i) => v.setUint32(i * 4, x, true));
  v.setBigUint64(16, SYSENTER_ESP_VALUE, true);
  v.setBigUint64(24, PAT_VALUE, true);
  out.set(XMM.subarray(48, 64), 32);
  v.setUint16(48, FCW, true);
  v.setUint32(56, DR0, true);
  v.setUint32(60, TIMER_VECTOR, true);
  v.setUint32(64, 0, true);
  v.setUint32(68, MAIN_AFTER_HLT, true);
  out[72] = 0xff;
  out[73] = 0xff;
  v.setUint32(76, Number(IOAPIC_ENTRY), true);
  out[80] = PIT_CONTROL & 0x3f; // status: rw mode, mode, bcd (Intel 8254 datasheet, read-back)
  out[84] = IN_VALUE;
  return out;
}

/** The parts of an FXSAVE image the program set: FCW, abridged tag word, MXCSR, ST0, xmm0..7. */
export function fxImageOf(image: Uint8Array): {
  fcw: number;
  ftw: number;
  mxcsr: number;
  st0: number[];
  xmm: number[];
} {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  return {
    fcw: v.getUint16(0, true),
    ftw: v.getUint8(4),
    mxcsr: v.getUint32(24, true),
    st0: [...image.subarray(32, 42)],
    xmm: [...image.subarray(160, 288)],
  };
}

/** What fxImageOf gives for the program's state. */
export const FX_EXPECTED = { fcw: FCW, ftw: 0x01, mxcsr: MXCSR, st0: [...ST0], xmm: [...XMM] };

/** A 32-bit interrupt gate to `offset` in the code segment (Intel SDM Vol. 3A §6.11). */
const gate = (offset: number) =>
  (BigInt((offset & 0xffff0000) | 0x8e00) << 32n) | BigInt((0x08 << 16) | (offset & 0xffff));

/** The program, its data, GDT and IDT into `mem`. */
export function loadGuest(mem: GuestMemory): void {
  mem.write(CODE, Uint8Array.from(MAIN));
  mem.write(HANDLER, Uint8Array.from(TIMER_HANDLER));
  mem.write(NMI_HANDLER, Uint8Array.from(NMI_CONTINUATION));
  mem.writeU64(IDT + 8 * 2, gate(NMI_HANDLER));
  mem.writeU16(FX_IN, FCW);
  mem.writeU8(FX_IN + 4, 0x01); // abridged tag word: ST0 valid
  mem.writeU32(FX_IN + 24, MXCSR);
  mem.writeU32(FX_IN + 28, 0xffff); // MXCSR_MASK
  mem.write(FX_IN + 32, ST0);
  mem.write(FX_IN + 160, XMM);
  mem.writeU64(GDT + 8, 0x00cf9a000000ffffn); // 0x08: code, flat, 32-bit
  mem.writeU64(GDT + 16, 0x00cf92000000ffffn); // 0x10: data, flat
  mem.writeU64(IDT + 8 * TIMER_VECTOR, gate(HANDLER));
}

/** Protected mode at CODE, x87, SSE and xsetbv usable (CR0.MP, CR4.OSFXSR, OSXMMEXCPT, OSXSAVE). */
export function enterGuest(vcpu: Vcpu): void {
  const flat = {
    base: 0n,
    limit: 0xffffffff,
    present: 1,
    dpl: 0,
    db: 1,
    s: 1,
    l: 0,
    g: 1,
    avl: 0,
    unusable: 0,
  };
  const data = { ...flat, selector: 0x10, type: 3 };
  vcpu.setSregs({
    ...vcpu.getSregs(),
    cs: { ...flat, selector: 0x08, type: 11 },
    ds: data,
    es: data,
    fs: data,
    gs: data,
    ss: data,
    gdt: { base: BigInt(GDT), limit: 23 },
    idt: { base: BigInt(IDT), limit: 256 * 8 - 1 },
    cr0: 0x13n, // PE, MP, ET
    cr4: 0x40600n, // OSFXSR, OSXMMEXCPT, OSXSAVE
  });
  vcpu.setRegs({ ...vcpu.getRegs(), rip: BigInt(CODE), rsp: BigInt(STACK), rflags: 2n });
}
