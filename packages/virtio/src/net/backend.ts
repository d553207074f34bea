// Where virtio-net's frames go: a backend takes the guest's frames (a FrameSink) and sends frames for
// the guest to the FramePort the device gives it. The default is the @vmm/net NAT; a tap device is
// the other choice.
import { NatStack, TapDevice } from '@vmm/net';
import type { FramePort, FrameSink, NetConfig } from '@vmm/net';

/** A FrameSink the device can close when it goes away. */
export interface NetBackend extends FrameSink {
  /** Start what it serves before the guest runs (the NAT's host port forwards). */
  start?(): Promise<void>;
  /** Its counters (the NAT's flows, refusals, drops), for the library. */
  stats?(): object;
  close(): void;
}

/** Makes a backend that sends frames for the guest to `toGuest`. */
export type NetBackendFactory = (toGuest: FramePort) => NetBackend;

/** The userspace NAT (QEMU-user-like network; `config` as NatStack takes it). */
export function natBackend(config: Partial<NetConfig> = {}): NetBackendFactory {
  return (toGuest) => new NatStack(toGuest, config);
}

/**
 * A host tap device `name` (created or attached; needs CAP_NET_ADMIN), without offloads: frames
 * cross it with complete checksums and at most the MTU, whatever the two sides negotiated.
 */
export function tapBackend(name: string): NetBackendFactory {
  return (toGuest) => {
    const tap = new TapDevice(name, { offloads: false });
    tap.start({ input: (frame, length) => toGuest.send(frame, length), flush: () => {} });
    return {
      input: (frame, length) => tap.send(frame, length),
      flush: () => {},
      close: () => tap.close(),
    };
  };
}
