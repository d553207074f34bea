// struct kvm_fpu (arch/x86/include/uapi/asm/kvm.h): x87 and SSE state, as KVM_GET/SET_FPU carry it.
import type { X86Fpu } from '../../types';
import type { StructLayout } from './layout';

export const FPU_SIZE = 416;
export const FPU_LAYOUT: StructLayout = {
  cName: 'struct kvm_fpu',
  size: FPU_SIZE,
  fields: {
    fpr: 0,
    fcw: 128,
    fsw: 130,
    ftwx: 132,
    last_opcode: 134,
    last_ip: 136,
    last_dp: 144,
    xmm: 152,
    mxcsr: 408,
  },
};

/** Intel SDM Vol. 1 §8.1.5 and §10.2.3: the power-up FCW and MXCSR, as Linux expects at boot. */
export const FPU_DEFAULT_FCW = 0x37f;
export const FPU_DEFAULT_MXCSR = 0x1f80;

/** Fills `v` (FPU_SIZE bytes) with the boot state: all zero but FCW and MXCSR (which KVM_SET_FPU ignores). */
export function writeFpuDefaults(v: DataView): void {
  for (let i = 0; i < FPU_SIZE; i++) v.setUint8(i, 0);
  v.setUint16(FPU_LAYOUT.fields.fcw!, FPU_DEFAULT_FCW, true);
  v.setUint32(FPU_LAYOUT.fields.mxcsr!, FPU_DEFAULT_MXCSR, true);
}

const FPR_BYTES = 8 * 16;
const XMM_BYTES = 16 * 16;

/** Reads `v` (FPU_SIZE bytes, as KVM_GET_FPU filled it), all but mxcsr, which KVM leaves 0 there. */
export function readFpu(v: DataView): X86Fpu {
  const f = FPU_LAYOUT.fields;
  const bytes = (at: number, n: number) =>
    new Uint8Array(v.buffer.slice(v.byteOffset + at, v.byteOffset + at + n));
  return {
    fpr: bytes(f.fpr!, FPR_BYTES),
    fcw: v.getUint16(f.fcw!, true),
    fsw: v.getUint16(f.fsw!, true),
    ftwx: v.getUint8(f.ftwx!),
    lastOpcode: v.getUint16(f.last_opcode!, true),
    lastIp: v.getBigUint64(f.last_ip!, true),
    lastDp: v.getBigUint64(f.last_dp!, true),
    xmm: bytes(f.xmm!, XMM_BYTES),
  };
}
