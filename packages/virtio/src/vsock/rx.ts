// The device → guest direction (virtio 1.2 §5.10.6.4): which packet goes into the next rx buffer
// the guest posted. Two sources: RSTs not tied to a live connection (answers to packets for
// unknown ports, connections the host gave up), in a fixed ring; and the connections with
// something to send, served round robin one packet at a time. A packet is the 44-byte header and
// up to (buffer − 44) bytes of payload, never more than 64 KiB, one per chain. With no rx buffer
// posted, everything waits: RSTs in their ring (bounded; a full ring drops and counts), control
// packets as one bit each in their connection, data in the host stream's write side.
import type { LogSink } from '@vmm/hypervisor';
import type { DeviceContext } from '../device';
import { DescriptorChain } from '../queue/chain';
import type { VsockConnection } from './connection';
import * as L from './layout';
import { PacketHeader } from './packet';

/** The counters rx work moves (a subset of VsockDeviceStats). */
export interface RxCounters {
  packetsToGuest: number;
  bytesToGuest: number;
  resetsSent: number;
  resetsDropped: number;
  creditUpdatesSent: number;
  rxBadBuffers: number;
  rxStalls: number;
}

export class RxSchedule {
  /** Connections with (maybe) something to send, from readyHead on, each at most once. */
  private ready: (VsockConnection | undefined)[] = [];
  private readyHead = 0;
  // RSTs to send: [guest port, host port] and the socket type to echo, in a ring.
  private readonly rstPorts: Uint32Array;
  private readonly rstTypes: Uint16Array;
  private rstHead = 0;
  private rstCount = 0;
  private chain: DescriptorChain | undefined;
  private readonly hdr = new PacketHeader();

  constructor(
    private readonly stats: RxCounters,
    private readonly guestCid: number,
    private readonly queueMax: number,
    rstCapacity: number,
    private readonly log: LogSink | undefined,
  ) {
    this.rstPorts = new Uint32Array(2 * rstCapacity);
    this.rstTypes = new Uint16Array(rstCapacity);
  }

  /** Something is waiting to be sent (or was: a connection may have nothing by the time it is looked at). */
  get hasWork(): boolean {
    return this.rstCount > 0 || this.readyHead < this.ready.length;
  }

  /** `c` may have a packet to send. */
  wake(c: VsockConnection): void {
    if (c.inReady) return;
    c.inReady = true;
    this.ready.push(c);
  }

  /** Queue an RST from host `hostPort` to guest `guestPort` (of socket `type`). */
  queueReset(guestPort: number, hostPort: number, type: number): void {
    const cap = this.rstTypes.length;
    if (this.rstCount >= cap) {
      this.stats.resetsDropped++;
      this.log?.(
        'vsock-rst-dropped',
        `virtio-vsock: ${cap} resets already wait for guest rx buffers; one to guest port ${guestPort} was dropped`,
      );
      return;
    }
    const slot = (this.rstHead + this.rstCount) % cap;
    this.rstPorts[2 * slot] = guestPort;
    this.rstPorts[2 * slot + 1] = hostPort;
    this.rstTypes[slot] = type;
    this.rstCount++;
  }

  /** Forget everything waiting (device reset) and let go of the rx chain's view of guest RAM. */
  clear(): void {
    for (let i = this.readyHead; i < this.ready.length; i++) {
      const c = this.ready[i];
      if (c) c.inReady = false;
    }
    this.ready.length = 0;
    this.readyHead = 0;
    this.rstCount = 0;
    this.rstHead = 0;
    this.chain?.unbind();
  }

  /**
   * Put waiting packets into the guest's rx buffers: at most a queue's worth per call, then the
   * rest is requeued; with no buffer left, the device waits for the guest's next rx kick.
   */
  fill(ctx: DeviceContext): void {
    const q = ctx.queues[L.RX_QUEUE]!;
    if (!q.live) return;
    const chain = (this.chain ??= new DescriptorChain(this.queueMax));
    let budget = q.size;
    let used = 0;
    for (;;) {
      const conn = this.rstCount > 0 ? undefined : this.peek();
      if (this.rstCount === 0 && conn === undefined) break;
      if (budget-- <= 0) {
        ctx.requeue(L.RX_QUEUE);
        break;
      }
      const r = q.pop(chain);
      if (r === 'broken') {
        ctx.needsReset();
        break;
      }
      if (r === 'empty') {
        // Ask for a kick at the next buffer; one may have come in meanwhile.
        if (q.enableNotification()) continue;
        this.stats.rxStalls++;
        break;
      }
      used++;
      if (chain.writableBytes < L.HDR_SIZE) {
        // Not even room for a header: hand it back unused (a driver bug; counted).
        this.stats.rxBadBuffers++;
        q.pushUsed(chain.head, 0);
        continue;
      }
      q.pushUsed(chain.head, conn ? this.sendFor(conn, chain) : this.sendReset(chain));
    }
    if (used > 0) ctx.signalUsed(L.RX_QUEUE);
  }

  /** The first connection in the schedule with a packet to send now; those with none leave it. */
  private peek(): VsockConnection | undefined {
    while (this.readyHead < this.ready.length) {
      const c = this.ready[this.readyHead]!;
      if (c.nextOp() !== 0) return c;
      c.inReady = false;
      this.ready[this.readyHead++] = undefined;
    }
    this.ready.length = 0;
    this.readyHead = 0;
    return undefined;
  }

  /** One packet of `c` (the head of the schedule) into `chain`; `c` goes to the back if it has more. */
  private sendFor(c: VsockConnection, chain: DescriptorChain): number {
    const h = this.hdr;
    let op = c.nextOp();
    const room = Math.min(chain.writableBytes - L.HDR_SIZE, L.MAX_PKT_PAYLOAD);
    // A buffer with no room past the header still carries our credit, so it is not wasted.
    if (op === L.VIRTIO_VSOCK_OP_RW && room === 0) op = L.VIRTIO_VSOCK_OP_CREDIT_UPDATE;
    c.header(h, op, room);
    chain.write(0, h.encode(), 0, L.HDR_SIZE);
    c.sent(h, chain);
    const s = this.stats;
    s.packetsToGuest++;
    if (op === L.VIRTIO_VSOCK_OP_RW) s.bytesToGuest += h.len;
    else if (op === L.VIRTIO_VSOCK_OP_CREDIT_UPDATE) s.creditUpdatesSent++;
    // Round robin: the head leaves; it rejoins at the back while it has more to send.
    this.ready[this.readyHead++] = undefined;
    if (c.nextOp() !== 0) this.ready.push(c);
    else c.inReady = false;
    this.compact();
    return L.HDR_SIZE + h.len;
  }

  private sendReset(chain: DescriptorChain): number {
    const cap = this.rstTypes.length;
    const slot = this.rstHead;
    this.rstHead = (slot + 1) % cap;
    this.rstCount--;
    const h = this.hdr.set(
      L.VMADDR_CID_HOST,
      this.rstPorts[2 * slot + 1]!,
      this.guestCid,
      this.rstPorts[2 * slot]!,
      L.VIRTIO_VSOCK_OP_RST,
    );
    h.type = this.rstTypes[slot]!;
    chain.write(0, h.encode(), 0, L.HDR_SIZE);
    this.stats.packetsToGuest++;
    this.stats.resetsSent++;
    return L.HDR_SIZE;
  }

  /** Drop the consumed front of the schedule once it is most of the array. */
  private compact(): void {
    const head = this.readyHead;
    if (head < 64 || head * 2 < this.ready.length) return;
    this.ready.copyWithin(0, head);
    this.ready.length -= head;
    this.readyHead = 0;
  }
}
