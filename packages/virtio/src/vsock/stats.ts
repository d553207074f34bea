// The counters of a virtio-vsock device: names to numbers that only grow (VirtioDevice.stats).
// A type alias, not an interface, so that it is a Record<string, number> too.

export type VsockDeviceStats = {
  /** Connections established: guest → host listeners and host connect()s. */
  connectionsOpened: number;
  /** Guest REQUESTs refused: no listener on the port, or the connection limit reached. */
  connectionsRefused: number;
  /** RST packets sent to the guest, and received from it. */
  resetsSent: number;
  resetsReceived: number;
  /** RSTs dropped because too many waited for rx buffers. */
  resetsDropped: number;
  /** Well-formed, well-addressed packets from the guest, and packets put in its rx buffers. */
  packetsFromGuest: number;
  packetsToGuest: number;
  /** Payload bytes each way. */
  bytesFromGuest: number;
  bytesToGuest: number;
  /** Guest packets dropped: wrong CID, wrong type, unknown op, data after its own SHUTDOWN SEND. */
  droppedPackets: number;
  /** ... of which: src_cid not the guest's or dst_cid not the host's. */
  badAddress: number;
  /** ... of which: type not VIRTIO_VSOCK_TYPE_STREAM (answered with RST). */
  badType: number;
  /** ... of which: op unknown. */
  unknownOps: number;
  /** Tx chains returned with used length 0: shorter than a header, len not the chain's, over 64 KiB. */
  malformedChains: number;
  /** Rx buffers with no room for a header (returned unused), and event buffers too small for an event. */
  rxBadBuffers: number;
  /** Connections reset because the guest sent beyond the credit it was given. */
  creditViolations: number;
  /** CREDIT_UPDATE packets sent, and received; CREDIT_REQUESTs received. */
  creditUpdatesSent: number;
  creditUpdatesReceived: number;
  creditRequestsReceived: number;
  /** Times host data waited for the guest's credit. */
  creditStalls: number;
  /** Times packets waited because the guest had posted no rx buffer. */
  rxStalls: number;
  /** VIRTIO_VSOCK_EVENT_TRANSPORT_RESET events delivered. */
  transportResets: number;
};

/** Every counter at 0. */
export function newStats(): VsockDeviceStats {
  return {
    connectionsOpened: 0,
    connectionsRefused: 0,
    resetsSent: 0,
    resetsReceived: 0,
    resetsDropped: 0,
    packetsFromGuest: 0,
    packetsToGuest: 0,
    bytesFromGuest: 0,
    bytesToGuest: 0,
    droppedPackets: 0,
    badAddress: 0,
    badType: 0,
    unknownOps: 0,
    malformedChains: 0,
    rxBadBuffers: 0,
    creditViolations: 0,
    creditUpdatesSent: 0,
    creditUpdatesReceived: 0,
    creditRequestsReceived: 0,
    creditStalls: 0,
    rxStalls: 0,
    transportResets: 0,
  };
}
