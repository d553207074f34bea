// virtio-vsock: virtio 1.2 §5.10, stream sockets only, served in-process (no vhost). The guest
// talks to host CID 2; the host side is a set of Node Duplex streams: listen(port) takes the
// guest's connections to host port `port`, connect(port) opens one to a guest program listening
// on `port`. Credit (§5.10.6.3) paces both directions: nothing the guest does makes the host
// buffer more than `bufAlloc` per connection, and a host writer waits for the guest's reader.
//
// Every field of a guest header is checked (§5.10.6): a chain whose header is short or whose len
// is not what the chain holds (or over 64 KiB) is returned with used length 0; a packet not from
// the guest's CID to CID 2 is dropped; a non-stream type, or a packet for a connection that does
// not exist, is answered with RST; an unknown op is ignored. All of them are counted and logged.
// Nothing a guest does throws. Loops are bounded: a queue's worth of chains per call, then the
// rest is requeued. Host code (stream callbacks, listeners) never runs inside a ring walk: the
// effects are collected and run once the walk is over (connection.ts, settle).
import type { LogSink } from '@vmm/hypervisor';
import type { DeviceContext, VirtioDevice } from '../device';
import { TRANSPORT_FEATURES, bit } from '../features';
import { DescriptorChain } from '../queue/chain';
import { DEVICE_ID_SOCKET } from '../status';
import {
  ACCEPTING,
  CLOSED,
  CONNECTING,
  ESTABLISHED,
  VsockConnection,
  type ConnectionOwner,
} from './connection';
import { VsockError } from './errors';
import * as L from './layout';
import { checkOptions, type VsockDeviceOptions } from './options';
import { PacketHeader } from './packet';
import { RxSchedule } from './rx';
import type { VsockStream } from './stream';
import { newStats, type VsockDeviceStats } from './stats';
import { ConnectionTable } from './table';

export type { VsockDeviceOptions, VsockDeviceStats };

/** What listen() returns. */
export interface VsockListener {
  /** Stop taking new connections on this port (open ones go on). */
  close(): void;
}

export type VsockConnectionHandler = (stream: VsockStream, info: { guestPort: number }) => void;

/**
 * A guest's connection to a host port, waiting for the host's answer (listenAny): the guest
 * sees nothing until accept() (RESPONSE) or refuse() (RST). Unanswered after the device's
 * connectTimeoutMs, it is refused.
 */
export interface VsockRequest {
  readonly guestPort: number;
  readonly hostPort: number;
  /**
   * Take it: the guest gets its RESPONSE. Undefined when it is gone meanwhile (the guest gave up
   * with RST, the device was reset) or was answered already.
   */
  accept(): VsockStream | undefined;
  /** Refuse it: the guest gets RST. Nothing happens once accepted or gone. */
  refuse(): void;
}

export type VsockRequestHandler = (request: VsockRequest) => void;

/** Host ports for connect() are taken from here up (as Firecracker does), clear of usual listeners. */
const EPHEMERAL_FIRST = 0x4000_0000;
/** A host stream buffers this much of what the host writes before write() asks it to wait. */
const WRITABLE_HIGH_WATER = 64 * 1024;
/** Rounds of (fill rx, run host effects) per service call; more work waits for the next turn. */
const SERVICE_ROUNDS = 3;

export class VsockDevice implements VirtioDevice, ConnectionOwner {
  readonly deviceId = DEVICE_ID_SOCKET;
  readonly features = TRANSPORT_FEATURES | bit(L.VIRTIO_VSOCK_F_STREAM);
  readonly queueMaxSizes: readonly number[];
  readonly configSize = L.CONFIG_SIZE;
  readonly guestCid: number;
  readonly bufAlloc: number;
  readonly creditThreshold: number;
  readonly maxConnections: number;
  readonly stats: VsockDeviceStats = newStats();

  private readonly config = new Uint8Array(L.CONFIG_SIZE);
  private readonly connectTimeoutMs: number;
  private readonly readableHighWater: number;
  private readonly log: LogSink | undefined;
  private ctx: DeviceContext | undefined;
  private closed = false;

  private readonly table = new ConnectionTable();
  private readonly listeners = new Map<number, VsockConnectionHandler>();
  /** listenAny(): the guest's connections to ports without a listener of their own. */
  private fallback: VsockRequestHandler | undefined;
  private nextEphemeral = EPHEMERAL_FIRST;
  private readonly rx: RxSchedule;
  private readonly settleList: (VsockConnection | undefined)[] = [];
  private settling = false;
  private servicing = false;
  private flushScheduled = false;
  private readonly onFlush = (): void => {
    this.flushScheduled = false;
    this.service();
  };

  // Transmit: one chain and one header, reused.
  private txChain: DescriptorChain | undefined;
  private readonly txHdr = new PacketHeader();
  private inTx = false;

  // Event queue: buffers stay with the device, unused, until an event is owed.
  private eventChain: DescriptorChain | undefined;
  private owesTransportReset = false;
  /**
   * Restored from a snapshot: host connect()s wait here until the guest has handled the
   * TRANSPORT_RESET, or a connection made meanwhile would be reset with the old ones. Linux handles
   * the event (resetting its connected sockets) and then gives the buffer back and kicks the event
   * queue: that kick is the sign.
   */
  private heldConnects: { go(): void; fail(e: Error): void }[] | undefined;
  private resetDelivered = false;
  private readonly eventBytes = new Uint8Array(L.EVENT_SIZE);

  constructor(options: VsockDeviceOptions) {
    const o = checkOptions(options);
    const { guestCid: cid, queueSize, maxConnections, bufAlloc } = o;
    this.guestCid = cid;
    this.queueMaxSizes = [queueSize, queueSize, queueSize];
    this.maxConnections = maxConnections;
    this.bufAlloc = bufAlloc;
    // A CREDIT_UPDATE once the reader freed a quarter of the buffer since the guest last heard:
    // a guest blocked at zero credit has a whole buffer outstanding, so the reader's next read()
    // that empties the stream always sends one (VsockStream.read).
    this.creditThreshold = Math.floor(bufAlloc / 4);
    this.readableHighWater = Math.min(64 * 1024, Math.floor(bufAlloc / 2));
    this.connectTimeoutMs = o.connectTimeoutMs;
    this.log = options.log;
    new DataView(this.config.buffer).setUint32(L.CONFIG_GUEST_CID, cid, true); // high half 0
    // Room for an RST to every connection at once, and as many answers to stray packets.
    this.rx = new RxSchedule(this.stats, cid, queueSize, maxConnections + 256, this.log);
  }

  /** Connections open now (connecting or established). */
  get connectionCount(): number {
    return this.table.size;
  }

  // ---- VirtioDevice ----

  readConfig(offset: number, data: Uint8Array): void {
    data.set(this.config.subarray(offset, offset + data.length));
  }

  writeConfig(): void {
    // §5.10.4: guest_cid is read-only.
  }

  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.txChain ??= new DescriptorChain(this.queueMaxSizes[L.TX_QUEUE]!);
    this.eventChain ??= new DescriptorChain(this.queueMaxSizes[L.EVENT_QUEUE]!);
    this.sendEvent();
    this.transmit();
    this.service();
  }

  queueNotify(index: number): void {
    if (index === L.TX_QUEUE) this.transmit();
    else if (index === L.EVENT_QUEUE) {
      if (this.resetDelivered) this.releaseConnects();
      this.sendEvent();
    }
    this.service();
  }

  /**
   * Driver reset (status 0, a reboot): every connection is gone, its stream destroyed with
   * ECONNRESET; nothing keeps a view of guest RAM. The next activation tells the new driver with
   * VIRTIO_VSOCK_EVENT_TRANSPORT_RESET once it posts an event buffer.
   */
  reset(): void {
    const wasActive = this.ctx !== undefined;
    this.ctx = undefined;
    this.failAll(
      () =>
        new VsockError(
          'ECONNRESET',
          'vsock: the guest reset its vsock device (a reboot or a driver reload) and every connection ' +
            'with it: connect again once the guest is back',
        ),
    );
    this.rx.clear();
    this.txChain?.unbind();
    this.eventChain?.unbind();
    if (wasActive) this.owesTransportReset = true;
    if (this.settleList.length > 0) this.scheduleFlush();
  }

  /**
   * Restored from a snapshot: the guest's connections had their host ends in another process (or
   * another VM), so they are gone; the guest gets VIRTIO_VSOCK_EVENT_TRANSPORT_RESET at activation
   * (§5.10.6.6: it resets every connection and keeps its listeners), as Firecracker does.
   */
  restored(): void {
    this.owesTransportReset = true;
    this.heldConnects = [];
  }

  /** The guest handled the TRANSPORT_RESET of a restore: the connects held meanwhile go ahead. */
  private releaseConnects(): void {
    const held = this.heldConnects;
    this.heldConnects = undefined;
    this.resetDelivered = false;
    for (const h of held ?? []) h.go();
  }

  /**
   * Destroy every connection (its stream without an error: the host chose this), stop every
   * listener; the device serves nothing more.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const held = this.heldConnects ?? [];
    this.heldConnects = undefined;
    for (const h of held) h.fail(new VsockError('EVSOCKCLOSED', 'vsock: the device was closed'));
    this.listeners.clear();
    this.fallback = undefined;
    this.ctx = undefined;
    this.failAll(() => null);
    this.rx.clear();
    this.txChain?.unbind();
    this.eventChain?.unbind();
    this.settleAll();
  }

  // ---- the host's API ----

  /**
   * Open a connection to the guest's `port` from an ephemeral host port. Resolves once the guest
   * answers (RESPONSE); rejects with a VsockError: ECONNREFUSED when the guest resets it (nothing
   * listens there), ETIMEDOUT, ECONNRESET when the device is reset meanwhile, EVSOCKDOWN when the
   * guest's driver is not running, EVSOCKLIMIT at maxConnections.
   */
  connect(port: number): Promise<VsockStream> {
    return new Promise<VsockStream>((resolve, reject) => {
      const bad = this.checkPort(port, 'connect to') ?? this.checkOpen();
      if (bad) return reject(bad);
      if (this.ctx === undefined) {
        return reject(
          new VsockError(
            'EVSOCKDOWN',
            `vsock: cannot connect to guest port ${port}: the guest's vsock driver is not running yet ` +
              '(wait until the guest has booted)',
          ),
        );
      }
      const hostPort = this.table.size < this.maxConnections ? this.ephemeralPort(port) : undefined;
      if (hostPort === undefined) {
        return reject(
          new VsockError(
            'EVSOCKLIMIT',
            `vsock: ${this.table.size} connections are open, the limit (maxConnections): close some first`,
          ),
        );
      }
      const go = () => {
        const c = this.newConnection(port, hostPort, CONNECTING);
        c.connect(resolve, reject, this.connectTimeoutMs);
      };
      if (!this.heldConnects) return go();
      // Bounded like any connect: a guest that never acknowledges the reset times it out.
      const held = {
        go: () => {
          clearTimeout(timer);
          go();
        },
        fail: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const i = this.heldConnects?.indexOf(held) ?? -1;
        if (i < 0) return;
        this.heldConnects!.splice(i, 1);
        reject(
          new VsockError(
            'ETIMEDOUT',
            `vsock: the restored guest did not take its transport reset within ${this.connectTimeoutMs} ms`,
          ),
        );
      }, this.connectTimeoutMs);
      this.heldConnects.push(held);
    });
  }

  /**
   * Take the guest's connections to host CID 2, port `port`: `onConnection` gets each one's
   * stream. A guest connecting to a port nobody listens on is refused (RST).
   */
  listen(port: number, onConnection: VsockConnectionHandler): VsockListener {
    const bad = this.checkPort(port, 'listen on') ?? this.checkOpen();
    if (bad) throw bad;
    if (this.listeners.has(port)) {
      throw new VsockError(
        'EADDRINUSE',
        `vsock: host port ${port} already has a listener: close it first or pick another port`,
      );
    }
    this.listeners.set(port, onConnection);
    return {
      close: () => {
        if (this.listeners.get(port) === onConnection) this.listeners.delete(port);
      },
    };
  }

  /**
   * Be asked about the guest's connections to every host port that has no listen() of its own,
   * and answer each when ready: a Firecracker-style socket muxer first connects to the Unix
   * socket named after the port, then accepts (or refuses) the guest's connection, so a guest
   * whose host side is missing sees RST, never a RESPONSE then RST. Only one at a time.
   */
  listenAny(onRequest: VsockRequestHandler): VsockListener {
    const bad = this.checkOpen();
    if (bad) throw bad;
    if (this.fallback !== undefined) {
      throw new VsockError('EADDRINUSE', 'vsock: a listener for every port is already set: close it first');
    }
    this.fallback = onRequest;
    return {
      close: () => {
        if (this.fallback === onRequest) this.fallback = undefined;
      },
    };
  }

  // ---- ConnectionOwner ----

  wake(c: VsockConnection): void {
    this.rx.wake(c);
    this.scheduleFlush();
  }

  settleLater(c: VsockConnection): void {
    if (!c.inSettle) {
      c.inSettle = true;
      this.settleList.push(c);
    }
    this.scheduleFlush();
  }

  stalled(): void {
    this.stats.creditStalls++;
  }

  abort(c: VsockConnection): void {
    this.table.delete(c);
    if (c.state === CLOSED) return;
    this.rx.queueReset(c.guestPort, c.hostPort, L.VIRTIO_VSOCK_TYPE_STREAM);
    c.closed();
    this.scheduleFlush();
  }

  finish(c: VsockConnection): void {
    this.abort(c);
  }

  // ---- transmit: the guest's packets (§5.10.6.4, §5.10.6.5) ----

  private transmit(): void {
    const ctx = this.ctx;
    const chain = this.txChain;
    if (!ctx || !chain || this.inTx) return;
    const q = ctx.queues[L.TX_QUEUE]!;
    this.inTx = true;
    // Bounded: a queue's worth of packets per call; a guest that keeps the ring full gets the rest
    // after a requeue.
    let budget = q.size;
    try {
      do {
        while (q.live) {
          if (budget-- <= 0) {
            ctx.signalUsed(L.TX_QUEUE);
            if (q.hasAvailable()) ctx.requeue(L.TX_QUEUE);
            return;
          }
          const r = q.pop(chain);
          if (r === 'broken') return ctx.needsReset();
          if (r === 'empty') break;
          this.packet(chain);
          q.pushUsed(chain.head, 0);
        }
        ctx.signalUsed(L.TX_QUEUE);
      } while (q.live && q.enableNotification());
    } finally {
      this.inTx = false;
    }
  }

  /** One packet the guest transmitted. */
  private packet(chain: DescriptorChain): void {
    const total = chain.readableBytes;
    if (total < L.HDR_SIZE) return this.malformed(`a ${total}-byte packet, shorter than its 44-byte header`);
    const h = this.txHdr;
    chain.read(0, h.bytes, 0, L.HDR_SIZE);
    h.decode();
    if (h.len !== total - L.HDR_SIZE || h.len > L.MAX_PKT_PAYLOAD) {
      return this.malformed(
        `a packet whose len ${h.len} is not the ${total - L.HDR_SIZE} bytes after its header, or over 64 KiB`,
      );
    }
    if (
      h.srcCidHi !== 0 ||
      h.srcCidLo !== this.guestCid ||
      h.dstCidHi !== 0 ||
      h.dstCidLo !== L.VMADDR_CID_HOST
    ) {
      this.stats.badAddress++;
      return this.dropped(
        `a packet from CID ${cidText(h.srcCidHi, h.srcCidLo)} to ${cidText(h.dstCidHi, h.dstCidLo)}`,
      );
    }
    if (h.type !== L.VIRTIO_VSOCK_TYPE_STREAM) {
      // As Linux does for a type it does not serve: reset, echoing the type (never answer an RST).
      this.stats.badType++;
      if (h.op !== L.VIRTIO_VSOCK_OP_RST) this.rx.queueReset(h.srcPort, h.dstPort, h.type);
      return this.dropped(`a packet of socket type ${h.type} (only streams are served)`);
    }
    const op = h.op;
    if (op < L.VIRTIO_VSOCK_OP_REQUEST || op > L.VIRTIO_VSOCK_OP_CREDIT_REQUEST) {
      this.stats.unknownOps++;
      return this.dropped(`a packet with unknown op ${op}`);
    }
    this.stats.packetsFromGuest++;
    const c = this.table.get(h.srcPort, h.dstPort);
    if (op === L.VIRTIO_VSOCK_OP_RST) {
      this.stats.resetsReceived++;
      if (c) {
        this.table.delete(c);
        c.reset();
      }
      return;
    }
    if (op === L.VIRTIO_VSOCK_OP_REQUEST) return this.request(h, c);
    if (!c) {
      // Nothing by these ports (never was, or already closed): tell the guest.
      this.rx.queueReset(h.srcPort, h.dstPort, L.VIRTIO_VSOCK_TYPE_STREAM);
      return;
    }
    // Every packet tells us the guest's buffer and what its reader consumed (§5.10.6.3).
    c.peerCredit(h.bufAlloc, h.fwdCnt);
    // Its REQUEST is not answered yet: nothing but RST (handled above) may come.
    if (c.state === ACCEPTING) return this.protocolError(c, `op ${op} before its REQUEST was answered`);
    if (c.state === CONNECTING) {
      if (op === L.VIRTIO_VSOCK_OP_RESPONSE) {
        c.established(h.bufAlloc, h.fwdCnt);
        this.stats.connectionsOpened++;
      } else this.protocolError(c, `op ${op} before its RESPONSE`);
      return;
    }
    switch (op) {
      case L.VIRTIO_VSOCK_OP_RESPONSE:
        return this.protocolError(c, 'a second RESPONSE');
      case L.VIRTIO_VSOCK_OP_SHUTDOWN:
        return c.shutdown(h.flags);
      case L.VIRTIO_VSOCK_OP_RW:
        return this.data(c, h.len, chain);
      case L.VIRTIO_VSOCK_OP_CREDIT_UPDATE:
        this.stats.creditUpdatesReceived++;
        return;
      case L.VIRTIO_VSOCK_OP_CREDIT_REQUEST:
        this.stats.creditRequestsReceived++;
        return c.creditRequested();
    }
  }

  /** REQUEST (§5.10.6.5): a guest program connects to host port dst_port. */
  private request(h: PacketHeader, existing: VsockConnection | undefined): void {
    if (existing) return this.protocolError(existing, 'a REQUEST on ports already connected');
    const handler = this.listeners.get(h.dstPort);
    const ask = handler === undefined ? this.fallback : undefined;
    if ((handler === undefined && ask === undefined) || this.table.size >= this.maxConnections) {
      this.stats.connectionsRefused++;
      if (handler !== undefined || ask !== undefined) {
        this.log?.(
          'vsock-limit',
          `virtio-vsock: refused a guest connection to host port ${h.dstPort}: ` +
            `${this.maxConnections} connections are open (maxConnections)`,
        );
      }
      this.rx.queueReset(h.srcPort, h.dstPort, L.VIRTIO_VSOCK_TYPE_STREAM);
      return;
    }
    if (handler === undefined) {
      if (ask !== undefined) this.offer(h, ask);
      return;
    }
    const c = this.newConnection(h.srcPort, h.dstPort, ESTABLISHED);
    this.stats.connectionsOpened++;
    c.accept(h.bufAlloc, h.fwdCnt, (stream) => handler(stream, { guestPort: stream.guestPort }));
  }

  /** A REQUEST for listenAny(): the connection waits (ACCEPTING) until the host answers. */
  private offer(h: PacketHeader, ask: VsockRequestHandler): void {
    const guestPort = h.srcPort;
    const hostPort = h.dstPort;
    const c = this.newConnection(guestPort, hostPort, ACCEPTING);
    const request: VsockRequest = {
      guestPort,
      hostPort,
      accept: () => {
        const stream = c.answered();
        if (stream) this.stats.connectionsOpened++;
        return stream;
      },
      refuse: () => this.refuse(c),
    };
    const timeoutMs = this.connectTimeoutMs;
    c.offer(
      h.bufAlloc,
      h.fwdCnt,
      () => {
        try {
          ask(request);
        } catch {
          this.refuse(c); // host code that throws refuses, and the device goes on
        }
      },
      timeoutMs,
      () => {
        this.log?.(
          'vsock-unanswered',
          `virtio-vsock: refused a guest connection to host port ${hostPort}: the host did not answer within ${timeoutMs} ms`,
        );
        this.refuse(c);
      },
    );
  }

  /** An offered connection the host will not take: RST to the guest. */
  private refuse(c: VsockConnection): void {
    if (c.state !== ACCEPTING) return;
    this.stats.connectionsRefused++;
    this.abort(c);
  }

  /** RW: `n` payload bytes after the header, for an established connection. */
  private data(c: VsockConnection, n: number, chain: DescriptorChain): void {
    const payload = Buffer.allocUnsafe(n);
    chain.read(L.HDR_SIZE, payload, 0, n);
    const r = c.receive(payload);
    if (r === 'ok') {
      this.stats.bytesFromGuest += n;
    } else if (r === 'shut') {
      this.dropped(`${n} bytes on guest port ${c.guestPort} after its own SHUTDOWN SEND`);
    } else {
      this.stats.creditViolations++;
      this.log?.(
        'vsock-credit',
        `virtio-vsock: the guest sent beyond its credit on its port ${c.guestPort} (buf_alloc ${this.bufAlloc}): ` +
          'connection reset',
      );
      this.resetConnection(
        c,
        new VsockError(
          'EVSOCKCREDIT',
          `vsock: the guest sent more than the ${this.bufAlloc}-byte buffer it was given on its port ` +
            `${c.guestPort}; the connection was reset (a guest driver bug)`,
        ),
      );
    }
  }

  /** The guest broke the stream protocol on `c`: reset it both ways. */
  private protocolError(c: VsockConnection, what: string): void {
    this.log?.('vsock-protocol', `virtio-vsock: guest port ${c.guestPort} sent ${what}: connection reset`);
    this.resetConnection(
      c,
      new VsockError(
        'ECONNRESET',
        `vsock: the guest broke the protocol on its port ${c.guestPort} (${what})`,
      ),
    );
  }

  private resetConnection(c: VsockConnection, error: Error): void {
    this.abort(c);
    c.fail(error);
  }

  private malformed(what: string): void {
    this.stats.malformedChains++;
    this.log?.('vsock-malformed', `virtio-vsock: the guest transmitted ${what}; returned unused`);
  }

  private dropped(what: string): void {
    this.stats.droppedPackets++;
    this.log?.('vsock-dropped', `virtio-vsock: dropped ${what}`);
  }

  // ---- event queue (§5.10.6.7) ----

  /** Deliver an owed VIRTIO_VSOCK_EVENT_TRANSPORT_RESET into the guest's next event buffer. */
  private sendEvent(): void {
    const ctx = this.ctx;
    const chain = this.eventChain;
    if (!ctx || !chain || !this.owesTransportReset) return;
    const q = ctx.queues[L.EVENT_QUEUE]!;
    if (!q.live) return;
    for (let budget = q.size; budget > 0; budget--) {
      const r = q.pop(chain);
      if (r === 'broken') return ctx.needsReset();
      if (r === 'empty') {
        if (q.enableNotification()) continue;
        return;
      }
      if (chain.writableBytes < L.EVENT_SIZE) {
        this.stats.rxBadBuffers++;
        q.pushUsed(chain.head, 0);
        continue;
      }
      new DataView(this.eventBytes.buffer).setUint32(L.EVENT_ID, L.VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, true);
      chain.write(0, this.eventBytes, 0, L.EVENT_SIZE);
      q.pushUsed(chain.head, L.EVENT_SIZE);
      ctx.signalUsed(L.EVENT_QUEUE);
      this.owesTransportReset = false;
      this.stats.transportResets++;
      if (this.heldConnects) {
        this.resetDelivered = true;
        q.notifyOnNextAvail(); // the guest's refill must kick: it is the acknowledgement
      }
      return;
    }
    ctx.signalUsed(L.EVENT_QUEUE);
    ctx.requeue(L.EVENT_QUEUE);
  }

  // ---- running the rx schedule and the host-visible effects ----

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    setImmediate(this.onFlush);
  }

  /** Fill rx buffers, then run host effects (which may queue more), a few rounds. */
  private service(): void {
    if (this.servicing) return;
    this.servicing = true;
    try {
      for (let round = 0; round < SERVICE_ROUNDS; round++) {
        if (this.ctx && this.rx.hasWork) this.rx.fill(this.ctx);
        if (!this.settleAll()) break;
      }
    } finally {
      this.servicing = false;
    }
  }

  /** Run the collected host-visible effects; false when there were none. */
  private settleAll(): boolean {
    const list = this.settleList;
    if (list.length === 0 || this.settling) return false;
    this.settling = true;
    try {
      // Host code may add more while this runs: they are run too.
      for (let i = 0; i < list.length; i++) {
        const c = list[i]!;
        list[i] = undefined;
        c.settle();
      }
    } finally {
      list.length = 0;
      this.settling = false;
    }
    return true;
  }

  private failAll(error: () => Error | null): void {
    for (const c of this.table.drain()) c.fail(error());
  }

  private newConnection(guestPort: number, hostPort: number, state: number): VsockConnection {
    const c = new VsockConnection(
      this,
      guestPort,
      hostPort,
      state,
      this.readableHighWater,
      WRITABLE_HIGH_WATER,
    );
    this.table.add(c);
    return c;
  }

  /** A host port for connect() to guest `port`: not in a connection with it, not a listener's. */
  private ephemeralPort(port: number): number | undefined {
    for (let tries = this.maxConnections + this.listeners.size + 1; tries > 0; tries--) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p >= L.VMADDR_PORT_ANY - 1 ? EPHEMERAL_FIRST : p + 1;
      if (!this.table.has(port, p) && !this.listeners.has(p)) return p;
    }
    return undefined;
  }

  private checkPort(port: number, what: string): VsockError | undefined {
    if (Number.isInteger(port) && port >= 0 && port < L.VMADDR_PORT_ANY) return undefined;
    return new VsockError(
      'EVSOCKPORT',
      `vsock: cannot ${what} port ${port}: a port is a whole number in 0..4294967294`,
    );
  }

  private checkOpen(): VsockError | undefined {
    if (!this.closed) return undefined;
    return new VsockError('EVSOCKCLOSED', 'vsock: the device was closed (the VM stopped): start a new one');
  }
}

function cidText(hi: number, lo: number): string {
  return hi === 0 ? String(lo) : String(BigInt(hi) * 0x1_0000_0000n + BigInt(lo));
}
