// The frame-port interface: how a frontend (a tap device, virtio-net) and the NAT exchange Ethernet
// frames. Frames carry no virtio-net header and no packet-information prefix (IFF_NO_PI).

/** Where the NAT sends frames for the guest. */
export interface FramePort {
  /** Delivers one frame. frame[0, length) is valid only during the call: copy it to keep it. */
  send(frame: Uint8Array, length: number): void;
}

/** What a frontend drives: frames from the guest in, then `flush` once per batch. */
export interface FrameSink {
  /** One frame from the guest; frame[0, length) is read during the call only. Never throws. */
  input(frame: Uint8Array, length: number): void;
  /** End of a batch of input: sends the acknowledgements it coalesced. */
  flush(): void;
}
