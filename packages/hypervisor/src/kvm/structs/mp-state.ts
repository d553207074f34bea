// struct kvm_mp_state (include/uapi/linux/kvm.h): { __u32 mp_state }.
import type { StructLayout } from './layout';

export const MP_STATE_SIZE = 4;
export const MP_STATE_LAYOUT: StructLayout = {
  cName: 'struct kvm_mp_state',
  size: MP_STATE_SIZE,
  fields: { mp_state: 0 },
};
