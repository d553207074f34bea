// struct kvm_fpu (arch/x86/include/uapi/asm/kvm.h): x87 and SSE state, as KVM_GET/SET_FPU carry it.
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

/** Fills `v` (FPU_SIZE bytes) with the boot state: all zero but FCW and MXCSR. */
export function writeFpuDefaults(v: DataView): void {
  for (let i = 0; i < FPU_SIZE; i++) v.setUint8(i, 0);
  v.setUint16(FPU_LAYOUT.fields.fcw!, FPU_DEFAULT_FCW, true);
  v.setUint32(FPU_LAYOUT.fields.mxcsr!, FPU_DEFAULT_MXCSR, true);
}
