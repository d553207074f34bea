// Classic BPF, as seccomp filters take it: struct sock_filter { __u16 code; __u8 jt; __u8 jf;
// __u32 k; } (include/uapi/linux/filter.h), opcodes from include/uapi/linux/bpf_common.h, run over
// struct seccomp_data (include/uapi/linux/seccomp.h). A tiny assembler with forward labels, so
// the filter builder never counts jump offsets by hand.

/** sizeof(struct sock_filter). */
export const SOCK_FILTER_SIZE = 8;

// bpf_common.h
const BPF_LD = 0x00;
const BPF_JMP = 0x05;
const BPF_RET = 0x06;
const BPF_W = 0x00;
const BPF_ABS = 0x20;
const BPF_JEQ = 0x10;
const BPF_K = 0x00;

/** struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]. */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
/** args[i], low and high 32 bits (little-endian: low first). */
export function seccompArgLow(i: number): number {
  return 16 + 8 * i;
}
export function seccompArgHigh(i: number): number {
  return 16 + 8 * i + 4;
}

interface Insn {
  code: number;
  k: number;
  /** Jump targets by label ('' = the next instruction). */
  jt?: string;
  jf?: string;
}

/** Builds a program; `label()` names the next instruction; jumps go forward only (as BPF's do). */
export class BpfAssembler {
  private readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();

  /** A = the 32-bit word at `offset` of struct seccomp_data. */
  load(offset: number): this {
    this.insns.push({ code: BPF_LD | BPF_W | BPF_ABS, k: offset });
    return this;
  }

  /** if (A == k) goto jt else goto jf ('' or omitted: fall through). */
  jeq(k: number, jt = '', jf = ''): this {
    this.insns.push({ code: BPF_JMP | BPF_JEQ | BPF_K, k: k >>> 0, jt, jf });
    return this;
  }

  ret(k: number): this {
    this.insns.push({ code: BPF_RET | BPF_K, k: k >>> 0 });
    return this;
  }

  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`BPF label ${name} defined twice`);
    this.labels.set(name, this.insns.length);
    return this;
  }

  get length(): number {
    return this.insns.length;
  }

  /** The program as an array of struct sock_filter. */
  encode(): Uint8Array {
    const out = new Uint8Array(this.insns.length * SOCK_FILTER_SIZE);
    const dv = new DataView(out.buffer);
    this.insns.forEach((ins, pc) => {
      const o = pc * SOCK_FILTER_SIZE;
      dv.setUint16(o, ins.code, true);
      dv.setUint8(o + 2, this.offset(pc, ins.jt));
      dv.setUint8(o + 3, this.offset(pc, ins.jf));
      dv.setUint32(o + 4, ins.k, true);
    });
    return out;
  }

  private offset(pc: number, label: string | undefined): number {
    if (!label) return 0;
    const at = this.labels.get(label);
    if (at === undefined) throw new Error(`BPF label ${label} is not defined`);
    const off = at - pc - 1;
    if (off < 0 || off > 255) throw new Error(`BPF jump from ${pc} to ${label} (${off}) is out of range`);
    return off;
  }
}
