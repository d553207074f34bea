// How each struct module declares its C layout, once: the struct's C name, its size, and the
// offset of every member we read or write (C member designators, as offsetof() takes them).
// src/kvm/abi.test.ts checks every declaration against gcc and <linux/kvm.h>.

export interface StructLayout {
  /** e.g. "struct kvm_regs". */
  readonly cName: string;
  readonly size: number;
  /** Member designator -> byte offset, e.g. { 'io.port': 34 }. */
  readonly fields: Readonly<Record<string, number>>;
}
