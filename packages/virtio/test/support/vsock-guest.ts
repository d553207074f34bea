// A guest-side virtio-vsock driver in TypeScript, for model tests: it drives a device through
// the mmio transport and real rings in guest memory (guest-driver.ts) the way Linux's
// net/vmw_vsock/virtio_transport.c and virtio_transport_common.c do (virtio 1.2 §5.10):
// - rx buffers of a header and 4 KiB (split in two descriptors, as Linux 6.1, or one), reposted
//   as they are used; 8 four-byte event buffers;
// - packets out on tx as a header descriptor and a payload descriptor;
// - per socket, its own credit: it sends at most peer buf_alloc − (tx_cnt − peer fwd_cnt), never
//   more than 64 KiB a packet; it drops (and counts) data beyond its own buf_alloc, as Linux does;
//   its reader sends a CREDIT_UPDATE when buf_alloc − (fwd_cnt − last fwd_cnt sent) < 64 KiB
//   (virtio_transport_stream_do_dequeue);
// - close() sends SHUTDOWN RCV|SEND and waits for the peer's RST; a SHUTDOWN of both from the
//   peer is answered with RST; a packet for no socket with RST.
// A pump loop processes used buffers on each interrupt (vring_interrupt), so host code and the
// guest run interleaved on one event loop as they would on two CPUs.
import { createHash, type Hash } from 'node:crypto';
import { ArrayGuestMemory, MemfdGuestMemory, type GuestMemory } from '@vmm/hypervisor';
import type { VirtioDevice } from '../../src/device';
import { TRANSPORT_FEATURES } from '../../src/features';
import * as R from '../../src/mmio/registers';
import { MmioTransport } from '../../src/mmio/transport';
import { DEVICE_ID_SOCKET } from '../../src/status';
import * as L from '../../src/vsock/layout';
import { PacketHeader } from '../../src/vsock/packet';
import { GuestAllocator, GuestDriver, TestInterrupt, type DriverQueue, type Segment } from './guest-driver';

/** VIRTIO_VSOCK_DEFAULT_RX_BUF_SIZE. */
export const RX_BUF_SIZE = 4096;
const TX_SLOT = 64 + L.MAX_PKT_PAYLOAD;
const RAM_SIZE = 16 * 1024 * 1024;

export interface VsockGuestOptions {
  /** The CID this guest believes it has (default: read from config space). */
  cid?: number;
  /** Rx buffers posted at start (default 64). */
  rxBuffers?: number;
  /** Payload room of each rx buffer (default 4096). */
  rxBufSize?: number;
  /** Header and payload in one descriptor (newer Linux) instead of two (Linux 6.1). */
  singleRxDescriptor?: boolean;
  /** buf_alloc of every socket this guest opens (default 256 KiB). */
  bufAlloc?: number;
  /** Queue sizes (default the device's maximum). */
  queueSize?: number;
  /** Features to accept (default all the device offers). */
  features?: bigint;
  /** Guest RAM on a memfd (MemfdGuestMemory) instead of ArrayBuffers. */
  memfd?: boolean;
}

interface RxBuffer {
  addr: number;
  single: boolean;
}

type Waiter = () => void;

export class GuestSocket {
  state: 'connecting' | 'established' | 'closed' = 'connecting';
  /** An RST ended it (the host's, or ours in answer to a protocol error). */
  wasReset = false;
  peerShutRcv = false;
  peerShutSend = false;
  /** Data is consumed as it arrives (an application blocked in read()). */
  autoRead = true;
  readonly bufAlloc: number;
  fwdCnt = 0;
  lastFwdSent = 0;
  /** Bytes received and not yet read (Linux's rx_bytes). */
  rxBytes = 0;
  txCnt = 0;
  peerBufAlloc = 0;
  peerFwdCnt = 0;
  /** Times write() found no credit and waited. */
  stalls = 0;
  /** Every byte read, in order (unless `hash` takes them instead). */
  readonly chunks: Uint8Array[] = [];
  totalRead = 0;
  /** When set, read bytes go into this hash instead of `chunks`. */
  hash: Hash | undefined;
  private readonly unread: Uint8Array[] = [];
  private waiters: Waiter[] = [];

  constructor(
    readonly guest: VsockGuest,
    readonly localPort: number,
    readonly peerPort: number,
    bufAlloc: number,
  ) {
    this.bufAlloc = bufAlloc;
  }

  /** Bytes the host can take now (virtio_transport_get_credit, without reserving). */
  credit(): number {
    const inFlight = (this.txCnt - this.peerFwdCnt) >>> 0;
    return inFlight >= this.peerBufAlloc ? 0 : this.peerBufAlloc - inFlight;
  }

  /** Send all of `data` within the host's credit, waiting for CREDIT_UPDATEs when it runs out. */
  async write(data: Uint8Array, ms = 10_000): Promise<void> {
    let off = 0;
    while (off < data.length) {
      if (this.state !== 'established' || this.peerShutRcv)
        throw new Error(`guest socket ${this.localPort}: cannot write, ${this.describe()}`);
      const credit = this.credit();
      if (credit === 0) {
        this.stalls++;
        this.guest.stats.creditStalls++;
        await this.changed(ms);
        continue;
      }
      const n = Math.min(credit, data.length - off, L.MAX_PKT_PAYLOAD);
      this.guest.send(this, L.VIRTIO_VSOCK_OP_RW, 0, data.subarray(off, off + n));
      this.txCnt += n;
      off += n;
      if (this.guest.txBacklog > 8) await this.guest.txDrained(ms);
    }
  }

  /** The application reads up to `max` bytes (virtio_transport_stream_do_dequeue). */
  read(max = Infinity): Uint8Array {
    const parts: Uint8Array[] = [];
    let n = 0;
    while (this.unread.length > 0 && n < max) {
      const head = this.unread[0]!;
      const k = Math.min(head.length, max - n);
      parts.push(head.subarray(0, k));
      if (k === head.length) this.unread.shift();
      else this.unread[0] = head.subarray(k);
      n += k;
    }
    this.consumed(n);
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    this.record(out);
    return out;
  }

  /** All bytes read so far, as one array. */
  received(): Uint8Array {
    return Buffer.concat(this.chunks);
  }

  shutdown(flags: number): void {
    this.guest.send(this, L.VIRTIO_VSOCK_OP_SHUTDOWN, flags);
  }

  /** close(2) on a connected socket: SHUTDOWN of both, then wait for the peer's RST. */
  async close(ms = 5000): Promise<void> {
    if (this.state === 'closed') return;
    this.shutdown(L.VIRTIO_VSOCK_SHUTDOWN_RCV | L.VIRTIO_VSOCK_SHUTDOWN_SEND);
    await this.until(() => this.state === 'closed', ms, 'the peer to reset after close');
  }

  /** Abort: RST. */
  reset(): void {
    this.guest.send(this, L.VIRTIO_VSOCK_OP_RST, 0);
    this.guest.forget(this);
  }

  /** Resolves at the next packet for this socket (or a transport reset). */
  changed(ms = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(new Error(`guest socket ${this.localPort}: nothing came for ${ms} ms (${this.describe()})`)),
        ms,
      );
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`guest socket ${this.localPort}: timed out waiting for ${what}`);
      await this.changed(left).catch(() => undefined);
    }
  }

  describe(): string {
    return `${this.state}${this.wasReset ? ' (reset)' : ''}, credit ${this.credit()}, read ${this.totalRead}`;
  }

  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** An RW payload arrived (virtio_transport_recv_enqueue): over our buf_alloc it is dropped. */
  onData(payload: Uint8Array): void {
    if (this.rxBytes + payload.length > this.bufAlloc) {
      this.guest.stats.creditViolations++;
      return;
    }
    this.rxBytes += payload.length;
    this.unread.push(payload);
    if (this.autoRead) this.read();
  }

  private consumed(n: number): void {
    if (n === 0) return;
    this.rxBytes -= n;
    this.fwdCnt += n;
    this.totalRead += n;
    const free = this.bufAlloc - (this.fwdCnt - this.lastFwdSent);
    if (free < L.MAX_PKT_PAYLOAD && this.state === 'established') {
      this.guest.send(this, L.VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
      this.guest.stats.creditUpdatesSent++;
    }
  }

  private record(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.hash) this.hash.update(bytes);
    else this.chunks.push(bytes);
  }
}

export class VsockGuest {
  readonly mem: GuestMemory;
  readonly irq = new TestInterrupt();
  readonly transport: MmioTransport;
  readonly driver: GuestDriver;
  cid = 0;
  rxq!: DriverQueue;
  txq!: DriverQueue;
  evq!: DriverQueue;
  readonly sockets = new Map<string, GuestSocket>();
  readonly listeners = new Map<number, (s: GuestSocket) => void>();
  /** Event ids received on the event queue. */
  readonly events: number[] = [];
  readonly stats = {
    packetsIn: 0,
    packetsOut: 0,
    creditUpdatesSent: 0,
    creditUpdatesReceived: 0,
    creditStalls: 0,
    /** Host data beyond a socket's buf_alloc (dropped): the device broke the credit rules. */
    creditViolations: 0,
    /** Packets from the device that break §5.10.6 (bad CIDs, type, len vs used len). */
    badPackets: 0,
    resetsReceived: 0,
    resetsSent: 0,
    /** RSTs of a non-stream type (answers to packets of that type). */
    foreignTypeResets: 0,
  };
  /** Used rx buffers are kept, not reposted (a guest whose reader is stuck). */
  holdRx = false;
  private readonly rxBufSize: number;
  private readonly single: boolean;
  private readonly bufAlloc: number;
  private rxBuffers: RxBuffer[] = [];
  private readonly rxByHead = new Map<number, RxBuffer>();
  private heldRx: RxBuffer[] = [];
  private readonly evByHead = new Map<number, number>();
  private readonly txFree: number[] = [];
  private readonly txByHead = new Map<number, number>();
  private readonly backlog: { h: Uint8Array; payload: Uint8Array | undefined }[] = [];
  private drainWaiters: Waiter[] = [];
  private nextPort = 49152;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly hdr = new PacketHeader();

  constructor(
    readonly device: VirtioDevice,
    private readonly options: VsockGuestOptions = {},
  ) {
    this.mem = options.memfd
      ? MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: RAM_SIZE }] })
      : new ArrayGuestMemory([{ gpa: 0, size: RAM_SIZE }]);
    this.transport = new MmioTransport({
      device,
      memory: this.mem,
      interrupt: this.irq,
      maxChainBytes: 1 << 20,
    });
    this.driver = new GuestDriver(this.transport, this.mem, new GuestAllocator(0x1000, RAM_SIZE), this.irq);
    this.rxBufSize = options.rxBufSize ?? RX_BUF_SIZE;
    this.single = options.singleRxDescriptor ?? false;
    this.bufAlloc = options.bufAlloc ?? 256 * 1024;
    for (let i = 0; i < 32; i++) this.txFree.push(this.driver.alloc.alloc(TX_SLOT, 64));
    this.init();
  }

  /** §3.1.1 and virtio_vsock_probe: features, three queues, DRIVER_OK, rx and event buffers. */
  init(): void {
    const d = this.driver;
    const wanted = this.options.features ?? TRANSPORT_FEATURES | this.device.features;
    if (d.init(wanted, DEVICE_ID_SOCKET) === 0n) throw new Error('vsock: features refused');
    const size = this.options.queueSize;
    this.rxq = d.setupQueue(L.RX_QUEUE, size);
    this.txq = d.setupQueue(L.TX_QUEUE, size);
    this.evq = d.setupQueue(L.EVENT_QUEUE, size);
    d.driverOk();
    this.cid =
      this.options.cid ?? new DataView(d.readConfig(L.CONFIG_GUEST_CID, 8).buffer).getUint32(0, true);
    this.rxByHead.clear();
    this.evByHead.clear();
    this.txByHead.clear();
    this.heldRx = [];
    if (this.rxBuffers.length === 0) this.addRxBuffers(this.options.rxBuffers ?? 64);
    else {
      const old = this.rxq.availIndex;
      for (const b of this.rxBuffers) this.postRx(b);
      this.rxq.kickIfNeeded(old);
    }
    const oldEv = this.evq.availIndex;
    for (let i = 0; i < 8; i++) {
      const addr = d.alloc.alloc(L.EVENT_SIZE, 4);
      this.evByHead.set(this.evq.add([{ addr, len: L.EVENT_SIZE, write: true }]), addr);
    }
    this.evq.kickIfNeeded(oldEv);
  }

  /** Driver reset (status 0) then probe again, as a reboot does; sockets are gone. */
  reboot(): void {
    this.driver.write32(R.MMIO_STATUS, 0);
    for (const s of [...this.sockets.values()]) this.closeLocally(s, true);
    this.backlog.length = 0;
    this.txFree.push(...this.txByHead.values());
    this.init();
  }

  /** Post `n` more rx buffers (and kick if the device asked). */
  addRxBuffers(n: number): void {
    const old = this.rxq.availIndex;
    for (let i = 0; i < n; i++) {
      const b: RxBuffer = { addr: this.driver.alloc.alloc(64 + this.rxBufSize, 8), single: this.single };
      this.rxBuffers.push(b);
      this.postRx(b);
    }
    this.rxq.kickIfNeeded(old);
  }

  /** Stop holding used rx buffers: repost them all. */
  releaseRx(): void {
    this.holdRx = false;
    const old = this.rxq.availIndex;
    for (const b of this.heldRx) this.postRx(b);
    this.heldRx = [];
    this.rxq.kickIfNeeded(old);
  }

  get heldRxCount(): number {
    return this.heldRx.length;
  }

  private postRx(b: RxBuffer): void {
    const segs: Segment[] = b.single
      ? [{ addr: b.addr, len: L.HDR_SIZE + this.rxBufSize, write: true }]
      : [
          { addr: b.addr, len: L.HDR_SIZE, write: true },
          { addr: b.addr + 64, len: this.rxBufSize, write: true },
        ];
    this.rxByHead.set(this.rxq.add(segs), b);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.pump();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Stop, reset the device, let go of guest memory. */
  async shutdown(): Promise<void> {
    await this.stop();
    this.transport.shutdown();
    if (this.mem instanceof MemfdGuestMemory) this.mem.close();
  }

  private async pump(): Promise<void> {
    while (this.running) {
      while (this.poll()) {
        // keep going while used buffers come back
      }
      // virtqueue_enable_cb: ask for an interrupt at the next used buffer, then look once more.
      for (const q of [this.rxq, this.txq, this.evq]) if (q.eventIdx) q.setUsedEvent(q.lastUsedIdx);
      if (this.rxq.usedIdx() !== this.rxq.lastUsedIdx || this.txq.usedIdx() !== this.txq.lastUsedIdx)
        continue;
      if (this.evq.usedIdx() !== this.evq.lastUsedIdx) continue;
      await this.irq.next(50);
      this.driver.ackInterrupt();
    }
  }

  /** Process every used buffer of the three queues once; true when there was any. */
  poll(): boolean {
    let any = false;
    const oldRx = this.rxq.availIndex;
    for (let u = this.rxq.popUsed(); u; u = this.rxq.popUsed()) {
      any = true;
      const b = this.rxByHead.get(u.id);
      this.rxByHead.delete(u.id);
      if (!b) {
        this.stats.badPackets++;
        continue;
      }
      this.receive(b, u.len);
      if (this.holdRx) this.heldRx.push(b);
      else this.postRx(b);
    }
    this.rxq.kickIfNeeded(oldRx);
    any = this.reclaimTx() || any;
    const oldEv = this.evq.availIndex;
    for (let u = this.evq.popUsed(); u; u = this.evq.popUsed()) {
      any = true;
      const addr = this.evByHead.get(u.id);
      this.evByHead.delete(u.id);
      if (addr === undefined || u.len < L.EVENT_SIZE) {
        this.stats.badPackets++;
        continue;
      }
      const id = this.mem.readU32(addr + L.EVENT_ID);
      this.events.push(id);
      if (id === L.VIRTIO_VSOCK_EVENT_TRANSPORT_RESET)
        for (const s of [...this.sockets.values()]) this.closeLocally(s, true);
      this.evByHead.set(this.evq.add([{ addr, len: L.EVENT_SIZE, write: true }]), addr);
    }
    this.evq.kickIfNeeded(oldEv);
    return any;
  }

  private reclaimTx(): boolean {
    let any = false;
    for (let u = this.txq.popUsed(); u; u = this.txq.popUsed()) {
      any = true;
      const slot = this.txByHead.get(u.id);
      this.txByHead.delete(u.id);
      if (slot !== undefined) this.txFree.push(slot);
    }
    while (this.backlog.length > 0 && this.txFree.length > 0) {
      const p = this.backlog.shift()!;
      this.transmit(p.h, p.payload);
    }
    if (this.backlog.length === 0 && this.drainWaiters.length > 0) {
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const f of w) f();
    }
    return any;
  }

  get txBacklog(): number {
    return this.backlog.length;
  }

  txDrained(ms: number): Promise<void> {
    if (this.backlog.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`guest tx ring stayed full for ${ms} ms`)), ms);
      this.drainWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  // ---- sockets ----

  /** connect(2) to host `port`: REQUEST, then the host's RESPONSE or RST. */
  async connect(port: number, ms = 5000): Promise<GuestSocket> {
    const s = new GuestSocket(this, this.nextPort++, port, this.bufAlloc);
    this.sockets.set(key(s.localPort, port), s);
    this.send(s, L.VIRTIO_VSOCK_OP_REQUEST, 0);
    await s.until(() => s.state !== 'connecting', ms, 'the RESPONSE');
    if (s.state !== 'established') throw new Error(`guest connect to host port ${port}: ${s.describe()}`);
    return s;
  }

  listen(port: number, onAccept: (s: GuestSocket) => void): void {
    this.listeners.set(port, onAccept);
  }

  forget(s: GuestSocket): void {
    s.state = 'closed';
    this.sockets.delete(key(s.localPort, s.peerPort));
    s.notify();
  }

  private closeLocally(s: GuestSocket, reset: boolean): void {
    s.wasReset ||= reset;
    this.forget(s);
  }

  /** One packet from socket `s` (virtio_transport_send_pkt_info): our buf_alloc and fwd_cnt ride along. */
  send(s: GuestSocket, op: number, flags: number, payload?: Uint8Array): void {
    const h = this.hdr.set(
      this.cid,
      s.localPort,
      L.VMADDR_CID_HOST,
      s.peerPort,
      op,
      payload?.length ?? 0,
      flags,
    );
    h.bufAlloc = s.bufAlloc;
    h.fwdCnt = s.fwdCnt;
    s.lastFwdSent = s.fwdCnt;
    if (op === L.VIRTIO_VSOCK_OP_RST) this.stats.resetsSent++;
    this.queuePacket(h.encode().slice(), payload);
  }

  /** A packet with a header of our making (hostile tests): sent like any other. */
  sendHeader(h: PacketHeader, payload?: Uint8Array): void {
    this.queuePacket(h.encode().slice(), payload);
  }

  private queuePacket(h: Uint8Array, payload: Uint8Array | undefined): void {
    if (this.backlog.length > 0 || this.txFree.length === 0) {
      this.reclaimTx();
      if (this.backlog.length > 0 || this.txFree.length === 0) {
        this.backlog.push({ h, payload: payload && new Uint8Array(payload) });
        return;
      }
    }
    this.transmit(h, payload);
  }

  private transmit(h: Uint8Array, payload: Uint8Array | undefined): void {
    const slot = this.txFree.pop()!;
    this.mem.write(slot, h);
    const segs: Segment[] = [{ addr: slot, len: L.HDR_SIZE, write: false }];
    if (payload && payload.length > 0) {
      this.mem.write(slot + 64, payload);
      segs.push({ addr: slot + 64, len: payload.length, write: false });
    }
    const old = this.txq.availIndex;
    this.txByHead.set(this.txq.add(segs), slot);
    this.stats.packetsOut++;
    this.txq.kickIfNeeded(old);
    this.reclaimTx();
  }

  /**
   * A chain of our own making on tx (hostile tests), kicked; returns its used length once the
   * device returned it (synchronously, as the device serves a kick).
   */
  rawTx(segments: Segment[]): number | undefined {
    const head = this.txq.add(segments);
    this.txq.kick();
    let len: number | undefined;
    for (let u = this.txq.popUsed(); u; u = this.txq.popUsed()) {
      if (u.id === head) len = u.len;
      const slot = this.txByHead.get(u.id);
      this.txByHead.delete(u.id);
      if (slot !== undefined) this.txFree.push(slot);
    }
    return len;
  }

  // ---- receive (virtio_transport_recv_pkt) ----

  private receive(b: RxBuffer, usedLen: number): void {
    const h = this.hdr;
    if (usedLen < L.HDR_SIZE) {
      this.stats.badPackets++;
      return;
    }
    h.bytes.set(this.mem.slice(b.addr, L.HDR_SIZE)!);
    h.decode();
    const payloadAt = b.single ? b.addr + L.HDR_SIZE : b.addr + 64;
    if (
      h.len !== usedLen - L.HDR_SIZE ||
      h.len > this.rxBufSize ||
      h.srcCidHi !== 0 ||
      h.srcCidLo !== L.VMADDR_CID_HOST ||
      h.dstCidHi !== 0 ||
      h.dstCidLo !== this.cid
    ) {
      this.stats.badPackets++;
      return;
    }
    this.stats.packetsIn++;
    const payload = h.len === 0 ? new Uint8Array(0) : new Uint8Array(this.mem.slice(payloadAt, h.len)!);
    const op = h.op;
    const k = key(h.dstPort, h.srcPort);
    const s = this.sockets.get(k);
    if (op === L.VIRTIO_VSOCK_OP_RST) this.stats.resetsReceived++;
    if (h.type !== L.VIRTIO_VSOCK_TYPE_STREAM) {
      // Only an RST answering a packet of ours of that type may carry another type.
      if (op === L.VIRTIO_VSOCK_OP_RST) this.stats.foreignTypeResets++;
      else this.stats.badPackets++;
      return;
    }
    if (!s) {
      if (op === L.VIRTIO_VSOCK_OP_REQUEST) return this.accept(h);
      if (op !== L.VIRTIO_VSOCK_OP_RST) this.replyReset(h);
      return;
    }
    s.peerBufAlloc = h.bufAlloc;
    s.peerFwdCnt = h.fwdCnt;
    switch (op) {
      case L.VIRTIO_VSOCK_OP_RESPONSE:
        if (s.state === 'connecting') s.state = 'established';
        else this.protocolReset(s);
        break;
      case L.VIRTIO_VSOCK_OP_RW:
        if (s.state === 'established') s.onData(payload);
        else this.protocolReset(s);
        break;
      case L.VIRTIO_VSOCK_OP_CREDIT_UPDATE:
        this.stats.creditUpdatesReceived++;
        break;
      case L.VIRTIO_VSOCK_OP_CREDIT_REQUEST:
        this.send(s, L.VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
        this.stats.creditUpdatesSent++;
        break;
      case L.VIRTIO_VSOCK_OP_SHUTDOWN:
        if (h.flags & L.VIRTIO_VSOCK_SHUTDOWN_RCV) s.peerShutRcv = true;
        if (h.flags & L.VIRTIO_VSOCK_SHUTDOWN_SEND) s.peerShutSend = true;
        // Linux: a peer that shut both ways is reset and the socket closed.
        if (s.peerShutRcv && s.peerShutSend) {
          this.send(s, L.VIRTIO_VSOCK_OP_RST, 0);
          this.closeLocally(s, false);
        }
        break;
      case L.VIRTIO_VSOCK_OP_RST:
        this.closeLocally(s, true);
        break;
      default:
        this.protocolReset(s);
    }
    s.notify();
  }

  private accept(h: PacketHeader): void {
    const onAccept = this.listeners.get(h.dstPort);
    if (!onAccept) return this.replyReset(h);
    const s = new GuestSocket(this, h.dstPort, h.srcPort, this.bufAlloc);
    s.peerBufAlloc = h.bufAlloc;
    s.peerFwdCnt = h.fwdCnt;
    s.state = 'established';
    this.sockets.set(key(s.localPort, s.peerPort), s);
    this.send(s, L.VIRTIO_VSOCK_OP_RESPONSE, 0);
    onAccept(s);
  }

  private protocolReset(s: GuestSocket): void {
    this.send(s, L.VIRTIO_VSOCK_OP_RST, 0);
    this.closeLocally(s, true);
  }

  /** virtio_transport_reset_no_sock: an RST back to where the packet came from. */
  private replyReset(h: PacketHeader): void {
    const dstPort = h.srcPort;
    const srcPort = h.dstPort;
    const r = this.hdr.set(this.cid, srcPort, L.VMADDR_CID_HOST, dstPort, L.VIRTIO_VSOCK_OP_RST);
    this.stats.resetsSent++;
    this.queuePacket(r.encode().slice(), undefined);
  }
}

function key(localPort: number, peerPort: number): string {
  return `${localPort}:${peerPort}`;
}

/** Wait until `cond` holds, polling each turn of the event loop, or fail after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Deterministic bytes for stream `i`: distinct per stream, cheap to make. */
export function pattern(i: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let s = (i * 2654435761 + 1) >>> 0 || 1;
  for (let k = 0; k < len; k++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[k] = s & 0xff;
  }
  return out;
}

/** A sha256 hex digest. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
