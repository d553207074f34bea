// struct kvm_pit_config (arch/x86/include/uapi/asm/kvm.h): KVM_CREATE_PIT2's argument.
import type { StructLayout } from './layout';

export const PIT_CONFIG_SIZE = 64;
export const PIT_CONFIG_LAYOUT: StructLayout = {
  cName: 'struct kvm_pit_config',
  size: PIT_CONFIG_SIZE,
  fields: { flags: 0, pad: 4 },
};

export function encodePitConfig(flags: number): Uint8Array {
  const buf = new Uint8Array(PIT_CONFIG_SIZE);
  new DataView(buf.buffer).setUint32(0, flags, true);
  return buf;
}
