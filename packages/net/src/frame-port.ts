// The frame-port interface: how a frontend (a tap device, virtio-net) and the NAT exchange Ethernet
// frames. Frames carry no virtio-net header and no packet-information prefix (IFF_NO_PI).

/** Where the NAT sends frames for the guest. */
export interface FramePort {
  /** Delivers one frame. frame[0, length) is valid only during the call: copy it to keep it. */
  send(frame: Uint8Array, length: number): void;
  /**
   * True when the port completes TCP checksums itself (a tap with IFF_VNET_HDR marks the frame
   * VIRTIO_NET_HDR_F_NEEDS_CSUM): the sender then stores only the pseudo-header sum, as a NIC
   * with checksum offload expects (virtio 1.2 §5.1.6.2). Absent means false.
   */
  readonly offloadsChecksum?: boolean;
  /**
   * A buffer (at least 14 + 65520 bytes) the sender may build its frames in: `send` of a frame that
   * starts at its byte 0 needs no copy (the tap keeps its virtio_net_hdr in front of it). Optional.
   */
  readonly txFrame?: Uint8Array;
}

/** What a frontend drives: frames from the guest in, then `flush` once per batch. */
export interface FrameSink {
  /**
   * One frame from the guest; frame[0, length) is read during the call only. Never throws.
   * `checksumValid`: the transport vouches for the TCP/UDP checksum (virtio-net's NEEDS_CSUM or
   * DATA_VALID), which then holds only the pseudo-header sum and is not verified.
   */
  input(frame: Uint8Array, length: number, checksumValid?: boolean): void;
  /** End of a batch of input: sends the acknowledgements it coalesced. */
  flush(): void;
}
