// struct kvm_pit_state2 + struct kvm_pit_channel_state (arch/x86/include/uapi/asm/kvm.h): the
// in-kernel 8254 PIT's three channels, as KVM_GET_PIT2 and KVM_SET_PIT2 carry them.
// count_load_time is the host's ktime when the count was loaded: KVM_SET_PIT2 reloads each count
// at the time of the call (arch/x86/kvm/i8254.c), so it never survives a restore as it was.
import type { StructLayout } from './layout';

export const PIT_CHANNEL_STATE_SIZE = 24;
export const PIT_CHANNEL_STATE_LAYOUT: StructLayout = {
  cName: 'struct kvm_pit_channel_state',
  size: PIT_CHANNEL_STATE_SIZE,
  fields: {
    count: 0,
    latched_count: 4,
    count_latched: 6,
    status_latched: 7,
    status: 8,
    read_state: 9,
    write_state: 10,
    write_latch: 11,
    rw_mode: 12,
    mode: 13,
    bcd: 14,
    gate: 15,
    count_load_time: 16,
  },
};

export const PIT_STATE2_SIZE = 112;
export const PIT_STATE2_LAYOUT: StructLayout = {
  cName: 'struct kvm_pit_state2',
  size: PIT_STATE2_SIZE,
  fields: { channels: 0, flags: 72, reserved: 76 },
};

export const PIT_CHANNELS = 3;

/** Byte offset of channel `i`'s count_load_time in a kvm_pit_state2. */
export function pitCountLoadTimeOffset(i: number): number {
  return (
    PIT_STATE2_LAYOUT.fields.channels! +
    i * PIT_CHANNEL_STATE_SIZE +
    PIT_CHANNEL_STATE_LAYOUT.fields.count_load_time!
  );
}
