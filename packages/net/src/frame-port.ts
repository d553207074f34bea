// The frame-port interface: how a frontend (a tap device, virtio-net) and the NAT exchange Ethernet
// frames. Frames carry no virtio-net header and no packet-information prefix (IFF_NO_PI).

/** Where the NAT sends frames for the guest. */
export interface FramePort {
  /**
   * Delivers one frame. frame[0, length) is valid only during the call: copy it to keep it.
   * `gsoSize` > 0 (only while `tso` is true) marks an IPv4 TCP super-segment whose data is to be
   * cut into segments of `gsoSize` bytes (TSO; virtio 1.2 §5.1.6.2, VIRTIO_NET_HDR_GSO_TCPV4):
   * by the port, or by the guest's stack, which takes it whole.
   */
  send(frame: Uint8Array, length: number, gsoSize?: number): void;
  /**
   * True when the port completes TCP checksums itself (a tap with IFF_VNET_HDR marks the frame
   * VIRTIO_NET_HDR_F_NEEDS_CSUM): the sender then stores only the pseudo-header sum, as a NIC
   * with checksum offload expects (virtio 1.2 §5.1.6.2). Absent means false. May change while
   * the port runs (a guest negotiates it); the sender reads it for every frame.
   */
  readonly offloadsChecksum?: boolean;
  /**
   * True when the port takes TCP super-segments (send's `gsoSize`) of up to 64 KiB whatever the
   * MTU, with partial checksums (`offloadsChecksum` is then true too). Absent means false. May
   * change while the port runs; the sender reads it for every segment.
   */
  readonly tso?: boolean;
  /**
   * A buffer (at least 14 + 65535 bytes) the sender may build its frames in: `send` of a frame that
   * starts at its byte 0 needs no copy (the tap keeps its virtio_net_hdr in front of it). Optional.
   */
  readonly txFrame?: Uint8Array;
}

/** What a frontend drives: frames from the guest in, then `flush` once per batch. */
export interface FrameSink {
  /**
   * One frame from the guest; frame[0, length) is read during the call only. Never throws.
   * `checksumValid`: the transport vouches for the TCP/UDP checksum (virtio-net's NEEDS_CSUM or
   * DATA_VALID), which then holds only the pseudo-header sum and is not verified. A TCP frame may
   * be a super-segment larger than the MTU (the guest's TSO), with its IPv4 total length.
   */
  input(frame: Uint8Array, length: number, checksumValid?: boolean): void;
  /** End of a batch of input: sends the acknowledgements it coalesced. */
  flush(): void;
  /**
   * True when the sink works with offloads both ways: `input` takes frames as a NIC driver
   * offloads them (TCP/UDP checksums left partial, flagged `checksumValid`; TCP super-segments),
   * and what it sends honours its port's `offloadsChecksum` and `tso`. A frontend may then pass
   * its guest's offloads through (virtio-net offers VIRTIO_NET_F_HOST_TSO4 and GUEST_TSO4).
   * Absent means false: a sink that relays frames unchanged (a tap) gets complete checksums and
   * frames that fit the MTU.
   */
  readonly takesOffloads?: boolean;
}
