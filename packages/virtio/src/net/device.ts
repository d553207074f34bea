// virtio-net: virtio 1.2 §5.1. One receive and one transmit queue, no control queue. Frames the
// guest transmits go to a backend (the @vmm/net NAT by default); frames from the backend go into
// the guest's receive buffers, merged across several buffers with VIRTIO_NET_F_MRG_RXBUF. Frames
// that arrive while the guest has no receive buffers wait in a bounded backlog, then are dropped
// (counted). A guest's bad lengths, offsets or chains drop the frame; nothing throws.
// Offloads (§5.1.6.2, §5.1.6.4): with GUEST_CSUM the backend's TCP checksums reach the guest
// partial (NEEDS_CSUM) and with GUEST_TSO4 as super-segments of up to 64 KiB; with a backend that
// takes offloads (the NAT), the guest's partial checksums and HOST_TSO4 super-segments reach it
// as they are. So no byte of TCP data is summed in JavaScript, and a 64 KiB frame costs one
// notification instead of forty-five.
import { writeTcpOffloadHdr, type FramePort } from '@vmm/net';
import type { DeviceContext, VirtioDevice } from '../device';
import { VirtioConfigError } from '../errors';
import { TRANSPORT_FEATURES, bit, hasFeature } from '../features';
import { DescriptorChain } from '../queue/chain';
import type { NetBackend, NetBackendFactory } from './backend';
import { natBackend } from './backend';
import { completeChecksum } from './checksum';
import * as L from './layout';

export interface NetDeviceOptions {
  /** The guest's MAC address (6 bytes); default 52:54:00:12:34:56. */
  mac?: Uint8Array;
  /** MTU the guest is told (VIRTIO_NET_F_MTU, offered when above 1500); 576..65520, default 1500. */
  mtu?: number;
  /** Where frames go; default the NAT with its defaults (natBackend()). */
  backend?: NetBackendFactory;
  /** QueueNumMax of both queues: a power of two in 4..1024 (default 256). */
  queueSize?: number;
  /** Frames held for the guest while it has no receive buffers (default 256); more are dropped. */
  rxBacklog?: number;
}

export type NetDeviceStats = {
  txFrames: number;
  /** Transmitted chains dropped: too short, too long, GSO requested, bad checksum offsets. */
  txDropped: number;
  rxFrames: number;
  /** Frames for the guest dropped: backlog full, too big for the buffers, device not running. */
  rxDropped: number;
  /** Receive buffers the guest posted with no writable byte (handed back unused). */
  rxBadBuffers: number;
};

const DEFAULT_MAC = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

export class NetDevice implements VirtioDevice, FramePort {
  readonly deviceId = L.DEVICE_ID_NET;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = L.CONFIG_SIZE;
  readonly mtu: number;
  readonly backend: NetBackend;
  readonly stats: NetDeviceStats = { txFrames: 0, txDropped: 0, rxFrames: 0, rxDropped: 0, rxBadBuffers: 0 };

  private readonly config = new Uint8Array(L.CONFIG_SIZE);
  /** Largest frame without TSO (without the virtio-net header). */
  private readonly maxFrame: number;
  /** Largest frame either way once TSO is negotiated (maxFrame when offloads do not pass). */
  private readonly maxSuperFrame: number;
  private ctx: DeviceContext | undefined;
  private mergeable = false;
  private guestCsum = false;
  private guestTso = false;
  private hostTso = false;
  private readonly passOffloads: boolean;
  private closed = false;

  // Transmit: one chain and one frame buffer, reused.
  private txChain: DescriptorChain | undefined;
  private readonly txBuf: Uint8Array;
  private readonly txHdr = new Uint8Array(L.HDR_SIZE);
  private readonly txHdrView = new DataView(this.txHdr.buffer);
  private inTx = false;

  // Receive: chains popped but not yet used (kept for the next frame), in ring order.
  private readonly held: DescriptorChain[] = [];
  private heldCount = 0;
  private readonly rxHdr = new Uint8Array(L.HDR_SIZE);
  private readonly rxHdrView = new DataView(this.rxHdr.buffer);
  // Backlog: a ring of fixed slots, allocated on first use.
  private readonly backlog: Uint8Array[] = [];
  private readonly backlogLen: Uint32Array;
  private readonly backlogGso: Uint16Array;
  private backlogStart = 0;
  private backlogCount = 0;

  constructor(options: NetDeviceOptions = {}) {
    const queueSize = options.queueSize ?? 256;
    if (!(queueSize >= 4 && queueSize <= 1024 && (queueSize & (queueSize - 1)) === 0)) {
      throw new VirtioConfigError(
        'ENETQUEUE',
        `virtio-net queue size ${queueSize} is not a power of two in 4..1024: pick one that is`,
      );
    }
    const mtu = options.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65520) {
      throw new VirtioConfigError('ENETMTU', `virtio-net MTU ${mtu} is out of range: use 576 to 65520`);
    }
    const mac = options.mac ?? DEFAULT_MAC;
    if (mac.length !== 6 || (mac[0]! & 1) !== 0) {
      throw new VirtioConfigError('ENETMAC', 'virtio-net MAC must be 6 bytes and unicast (first byte even)');
    }
    const backlog = options.rxBacklog ?? 256;
    if (!Number.isInteger(backlog) || backlog < 0 || backlog > 65536) {
      throw new VirtioConfigError('ENETBACKLOG', `virtio-net rx backlog ${backlog} is not in 0..65536`);
    }
    this.mtu = mtu;
    this.maxFrame = mtu + L.ETH_OVERHEAD;
    this.backlogLen = new Uint32Array(backlog);
    this.backlogGso = new Uint16Array(backlog);
    this.queueMaxSizes = [queueSize, queueSize];
    const c = new DataView(this.config.buffer);
    this.config.set(mac, L.CONFIG_MAC);
    c.setUint16(L.CONFIG_STATUS, L.VIRTIO_NET_S_LINK_UP, true);
    c.setUint16(L.CONFIG_MAX_VIRTQUEUE_PAIRS, 1, true);
    c.setUint16(L.CONFIG_MTU, mtu, true);
    this.backend = (options.backend ?? natBackend({ mtu }))(this);
    // Offloads only with a backend that works with them both ways (FrameSink.takesOffloads): one
    // that relays frames (a tap) passes complete checksums and MTU-sized frames.
    const passOffloads = this.backend.takesOffloads === true;
    this.passOffloads = passOffloads;
    let f =
      TRANSPORT_FEATURES |
      bit(L.VIRTIO_NET_F_MAC) |
      bit(L.VIRTIO_NET_F_STATUS) |
      bit(L.VIRTIO_NET_F_MRG_RXBUF) |
      bit(L.VIRTIO_NET_F_CSUM) |
      bit(L.VIRTIO_NET_F_GUEST_CSUM);
    if (passOffloads) f |= bit(L.VIRTIO_NET_F_GUEST_TSO4) | bit(L.VIRTIO_NET_F_HOST_TSO4);
    if (mtu > 1500) f |= bit(L.VIRTIO_NET_F_MTU);
    this.features = f;
    this.maxSuperFrame = passOffloads ? Math.max(L.TSO_MAX_FRAME, this.maxFrame) : this.maxFrame;
    this.txBuf = new Uint8Array(this.maxSuperFrame);
  }

  /** FramePort: TCP checksums may reach the guest partial (it negotiated GUEST_CSUM). */
  get offloadsChecksum(): boolean {
    return this.passOffloads && this.guestCsum;
  }

  /** FramePort: TCP super-segments may reach the guest (it negotiated GUEST_TSO4 and GUEST_CSUM). */
  get tso(): boolean {
    return this.guestTso;
  }

  readConfig(offset: number, data: Uint8Array): void {
    data.set(this.config.subarray(offset, offset + data.length));
  }

  writeConfig(): void {
    // §5.1.4: mac is writable only without VIRTIO_NET_F_CTRL_MAC_ADDR in legacy mode; ignored here.
  }

  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.mergeable = hasFeature(ctx.features, L.VIRTIO_NET_F_MRG_RXBUF);
    this.guestCsum = hasFeature(ctx.features, L.VIRTIO_NET_F_GUEST_CSUM);
    // §5.1.3.1: GUEST_TSO4 requires GUEST_CSUM, HOST_TSO4 requires CSUM.
    this.guestTso = this.guestCsum && hasFeature(ctx.features, L.VIRTIO_NET_F_GUEST_TSO4);
    this.hostTso =
      hasFeature(ctx.features, L.VIRTIO_NET_F_CSUM) && hasFeature(ctx.features, L.VIRTIO_NET_F_HOST_TSO4);
    this.txChain ??= new DescriptorChain(this.queueMaxSizes[L.TX_QUEUE]!);
    this.drainBacklog();
    this.transmit();
  }

  queueNotify(index: number): void {
    if (index === L.RX_QUEUE) this.drainBacklog();
    else if (index === L.TX_QUEUE) this.transmit();
  }

  reset(): void {
    this.ctx = undefined;
    this.guestCsum = this.guestTso = this.hostTso = false;
    this.heldCount = 0;
    this.backlogCount = 0;
    this.backlogStart = 0;
    this.txChain?.unbind();
    for (const c of this.held) c.unbind();
  }

  /** Stop: reset and close the backend. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reset();
    this.backend.close();
  }

  /** The backend's host side (the NAT's port forwards) is up before the guest runs. */
  async start(): Promise<void> {
    await this.backend.start?.();
  }

  /** The backend's counters (the NAT's flows, refusals, drops), when it keeps any. */
  backendStats(): Readonly<Record<string, number>> | undefined {
    return this.backend.stats?.() as Readonly<Record<string, number>> | undefined;
  }

  // ---- transmit (§5.1.6.2) ----

  private transmit(): void {
    const ctx = this.ctx;
    const chain = this.txChain;
    if (!ctx || !chain || this.inTx || this.closed) return;
    const q = ctx.queues[L.TX_QUEUE]!;
    this.inTx = true;
    // Bounded: a queue's worth of frames per call. A guest that keeps the ring full (another vCPU
    // refilling it) gets the rest after a requeue, not the main thread.
    let budget = q.size;
    try {
      do {
        while (q.live) {
          if (budget-- <= 0) {
            ctx.signalUsed(L.TX_QUEUE);
            this.backend.flush();
            if (q.hasAvailable()) ctx.requeue(L.TX_QUEUE);
            return;
          }
          const r = q.pop(chain);
          if (r === 'broken') return ctx.needsReset();
          if (r === 'empty') break;
          this.sendOne(chain);
          q.pushUsed(chain.head, 0);
        }
        ctx.signalUsed(L.TX_QUEUE);
        this.backend.flush();
      } while (q.live && q.enableNotification());
    } finally {
      this.inTx = false;
    }
  }

  private sendOne(chain: DescriptorChain): void {
    const total = chain.readableBytes;
    const len = total - L.HDR_SIZE;
    if (total < L.HDR_SIZE || len < 14 || len > this.maxSuperFrame) {
      this.stats.txDropped++;
      this.ctx?.log?.(
        'net-tx-dropped',
        total < L.HDR_SIZE
          ? `dropped a chain the guest sent: ${total} bytes, short of the ${L.HDR_SIZE}-byte virtio-net header`
          : `dropped a frame the guest sent: ${len} bytes, not an Ethernet frame this link takes`,
      );
      return;
    }
    chain.read(0, this.txHdr, 0, L.HDR_SIZE);
    const h = this.txHdrView;
    const gso = h.getUint8(L.HDR_GSO_TYPE);
    // A super-segment only as negotiated (HOST_TSO4; ECN was not offered); otherwise the MTU holds.
    if (
      gso === L.VIRTIO_NET_HDR_GSO_NONE
        ? len > this.maxFrame
        : gso !== L.VIRTIO_NET_HDR_GSO_TCPV4 || !this.hostTso
    ) {
      this.stats.txDropped++;
      this.ctx?.log?.(
        'net-tx-dropped',
        `dropped a frame the guest sent: ${len} bytes with GSO type ${gso}, past the MTU or an offload not negotiated`,
      );
      return;
    }
    chain.read(L.HDR_SIZE, this.txBuf, 0, len);
    let partial = false;
    if (h.getUint8(L.HDR_FLAGS) & L.VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      const start = h.getUint16(L.HDR_CSUM_START, true);
      const offset = h.getUint16(L.HDR_CSUM_OFFSET, true);
      if (start + offset + 2 > len) {
        this.stats.txDropped++;
        this.ctx?.log?.(
          'net-tx-dropped',
          `dropped a frame the guest sent: its checksum offset is past its ${len} bytes`,
        );
        return;
      }
      // A backend that takes offloads gets the partial sum as it is (it does not verify it).
      partial = this.passOffloads;
      if (!partial) completeChecksum(this.txBuf, len, start, offset);
    }
    this.stats.txFrames++;
    this.backend.input(this.txBuf, len, partial);
  }

  // ---- receive (§5.1.6.3, §5.1.6.4) ----

  /**
   * FramePort: a frame for the guest; `gsoSize` > 0 marks a TCP super-segment (only while `tso`).
   * frame[0, length) is valid during the call only.
   */
  send(frame: Uint8Array, length: number, gsoSize = 0): void {
    const len = Math.min(length, frame.length);
    const max = gsoSize > 0 && this.guestTso ? this.maxSuperFrame : this.maxFrame;
    if (len > max || len <= 0 || !this.ctx) {
      this.stats.rxDropped++;
      return;
    }
    if (this.backlogCount === 0 && this.deliver(frame, len, gsoSize)) return;
    this.enqueue(frame, len, gsoSize);
  }

  private enqueue(frame: Uint8Array, len: number, gsoSize: number): void {
    const cap = this.backlogLen.length;
    if (this.backlogCount >= cap) {
      this.stats.rxDropped++;
      return;
    }
    const slot = (this.backlogStart + this.backlogCount) % cap;
    let buf = this.backlog[slot];
    // Slots grow to the largest frame they held (super-segments only when the guest takes them).
    if (!buf || buf.length < len)
      buf = this.backlog[slot] = new Uint8Array(len > this.maxFrame ? this.maxSuperFrame : this.maxFrame);
    buf.set(frame.subarray(0, len));
    this.backlogLen[slot] = len;
    this.backlogGso[slot] = gsoSize;
    this.backlogCount++;
  }

  private drainBacklog(): void {
    const cap = this.backlogLen.length;
    while (this.backlogCount > 0 && this.ctx) {
      const slot = this.backlogStart;
      if (!this.deliver(this.backlog[slot]!, this.backlogLen[slot]!, this.backlogGso[slot]!)) return;
      this.backlogStart = (slot + 1) % cap;
      this.backlogCount--;
    }
  }

  /** The receive header for a frame: checksum state and, for a super-segment, GSO (§5.1.6.4). */
  private rxHeader(frame: Uint8Array, len: number, gsoSize: number, buffers: number): void {
    const h = this.rxHdrView;
    this.rxHdr.fill(0);
    h.setUint16(L.HDR_NUM_BUFFERS, buffers, true);
    if (!this.guestCsum) return;
    // The backend left TCP checksums partial (offloadsChecksum): say where to complete them.
    const partial =
      this.passOffloads && writeTcpOffloadHdr(this.rxHdr, frame, len, this.guestTso ? gsoSize : 0);
    if (!partial) h.setUint8(L.HDR_FLAGS, L.VIRTIO_NET_HDR_F_DATA_VALID);
  }

  /**
   * Put one frame into the guest's receive buffers. false: not enough buffers yet (the frame waits).
   * A frame that can never fit is dropped and counts as delivered.
   */
  private deliver(frame: Uint8Array, len: number, gsoSize: number): boolean {
    const ctx = this.ctx!;
    const q = ctx.queues[L.RX_QUEUE]!;
    if (!q.live) return false;
    const need = L.HDR_SIZE + len;
    const maxChains = this.mergeable ? this.queueMaxSizes[L.RX_QUEUE]! : 1;
    // Gather buffers until they hold the header and the frame.
    let have = 0;
    let n = 0;
    for (; n < this.heldCount && have < need && n < maxChains; n++) have += this.held[n]!.writableBytes;
    while (have < need && n < maxChains) {
      const chain = this.popRx();
      if (!chain) return false;
      have += chain.writableBytes;
      n++;
    }
    if (have < need) {
      // Too big for one buffer (without MRG_RXBUF) or for a whole ring of tiny ones: drop it.
      this.stats.rxDropped++;
      return true;
    }
    this.rxHeader(frame, len, gsoSize, n);
    let done = 0;
    for (let i = 0; i < n; i++) {
      const chain = this.held[i]!;
      const take = Math.min(chain.writableBytes, need - done);
      this.writeSpan(chain, done, take, frame);
      q.pushUsed(chain.head, take);
      done += take;
    }
    this.dropHeld(n);
    this.stats.rxFrames++;
    ctx.signalUsed(L.RX_QUEUE);
    return true;
  }

  /** Write bytes [from, from + n) of (header ++ frame) into the start of `chain`. */
  private writeSpan(chain: DescriptorChain, from: number, n: number, frame: Uint8Array): void {
    let at = 0;
    if (from < L.HDR_SIZE) {
      const k = Math.min(L.HDR_SIZE - from, n);
      chain.write(0, this.rxHdr, from, k);
      at = k;
    }
    if (at < n) chain.write(at, frame, from + at - L.HDR_SIZE, n - at);
  }

  /** Pop one usable receive chain onto `held`; undefined when the ring is empty or broken. */
  private popRx(): DescriptorChain | undefined {
    const ctx = this.ctx!;
    const q = ctx.queues[L.RX_QUEUE]!;
    // Bounded: buffers with no writable byte are handed back, at most a ring's worth per call.
    for (let budget = q.size; budget > 0; budget--) {
      let chain = this.held[this.heldCount];
      if (!chain) {
        chain = new DescriptorChain(this.queueMaxSizes[L.RX_QUEUE]!);
        this.held[this.heldCount] = chain;
      }
      const r = q.pop(chain);
      if (r === 'broken') {
        ctx.needsReset();
        return undefined;
      }
      if (r === 'empty') {
        q.enableNotification();
        // A buffer may have come in between the pop and enabling notification.
        if (!q.live || !q.hasAvailable()) return undefined;
        continue;
      }
      if (chain.writableBytes === 0) {
        this.stats.rxBadBuffers++;
        this.ctx?.log?.(
          'net-rx-bad-buffer',
          'the guest queued a receive buffer with no writable bytes: returned unused',
        );
        q.pushUsed(chain.head, 0); // nothing to write into: hand it back
        continue;
      }
      this.heldCount++;
      return chain;
    }
    ctx.signalUsed(L.RX_QUEUE);
    ctx.requeue(L.RX_QUEUE); // the backlog is drained from there, after other work had a turn
    return undefined;
  }

  /** Forget the first `n` held chains (they were used), keeping the rest in order. */
  private dropHeld(n: number): void {
    const count = this.heldCount;
    this.heldCount = count - n;
    if (n === count) return; // the usual case: every held chain was used
    // Rotate the first `count` entries left by n: used chain objects go after the kept ones.
    const held = this.held;
    for (let k = 0; k < n; k++) {
      const c = held[0]!;
      for (let j = 1; j < count; j++) held[j - 1] = held[j]!;
      held[count - 1] = c;
    }
  }
}
