// One stream connection between a guest port and a host port: its state (virtio 1.2 §5.10.6.5),
// the credit of both directions (§5.10.6.3) and the control packets it owes the guest.
//
// It never calls host code from inside a ring walk: what the guest did (data, EOF, a reset) and
// what completed (a write that reached the guest, end(), connect()) is collected and run by
// settle(), which the device calls once its ring work is done. So a host callback that writes,
// ends or destroys a stream can never re-enter a walk of the guest's rings.
//
// Credit, as Linux's virtio_transport_common.c keeps it:
// - host → guest: RW packets carry at most the guest's free space, buf_alloc − (tx_cnt − fwd_cnt)
//   from the guest's latest header (u32 arithmetic); a write's callback runs once all of it is in
//   the guest's rx buffers, so a fast host writer is paced by the guest's reader.
// - guest → host: we advertise `bufAlloc` and a fwd_cnt that grows only as the host reader
//   consumes (bytes accepted − bytes still buffered in the stream); a CREDIT_UPDATE goes out once
//   the reader freed `creditThreshold` bytes since the guest last heard, or when it asks. A guest
//   sending beyond the credit it was given is reset: the host never buffers more than bufAlloc.
import type { DescriptorChain } from '../queue/chain';
import { VsockError } from './errors';
import * as L from './layout';
import type { PacketHeader } from './packet';
import { VsockStream } from './stream';

/**
 * Connection states: host sent REQUEST and waits; both ends talk; gone (not in the table); the
 * guest sent REQUEST and the host has not answered yet (listenAny: the host decides later).
 */
export const CONNECTING = 0;
export const ESTABLISHED = 1;
export const CLOSED = 2;
export const ACCEPTING = 3;

/** Control packets owed to the guest, one bit each: at most one of each is ever pending. */
const OWE_REQUEST = 1;
const OWE_RESPONSE = 2;
const OWE_CREDIT_UPDATE = 4;
const OWE_SHUTDOWN = 8;

type Callback = (error?: Error | null) => void;

const NO_CHUNKS: readonly Uint8Array[] = [];

/** What a connection needs of its device. */
export interface ConnectionOwner {
  readonly guestCid: number;
  /** The receive buffer the host advertises per connection (buf_alloc). */
  readonly bufAlloc: number;
  /** Bytes the host reader must free before a CREDIT_UPDATE is worth sending unasked. */
  readonly creditThreshold: number;
  /** `c` has a packet to send: put it in the rx schedule. */
  wake(c: VsockConnection): void;
  /** `c` has host-visible effects to run: call c.settle() once the ring work is done. */
  settleLater(c: VsockConnection): void;
  /** `c` wanted to send data and the guest had given no credit. */
  stalled(c: VsockConnection): void;
  /** The host side gave `c` up (destroy(), a connect timeout): RST the guest and forget `c`. */
  abort(c: VsockConnection): void;
  /** Both directions of `c` are shut: RST it (Linux waits for that to free its socket), forget it. */
  finish(c: VsockConnection): void;
}

export class VsockConnection {
  state: number;
  readonly stream: VsockStream;
  /** In the device's rx schedule. */
  inReady = false;
  /** In the device's settle list. */
  inSettle = false;
  private owed = 0;

  // Host → guest.
  private peerBufAlloc = 0;
  private peerFwdCnt = 0;
  /** Payload bytes sent in RW packets (the header's u32 counters are this modulo 2^32). */
  private txTotal = 0;
  private chunks: readonly Uint8Array[] = NO_CHUNKS;
  private chunkIndex = 0;
  private chunkOff = 0;
  private writeRemaining = 0;
  private writeCb: Callback | undefined;
  private finalCb: Callback | undefined;
  /** Data is waiting for credit (counted once per stall). */
  private stalledNow = false;
  hostShutSend = false;
  guestShutRcv = false;
  guestShutSend = false;

  // Guest → host.
  /** Payload bytes accepted from the guest. */
  private rxTotal = 0;
  /** The fwd_cnt in the last header the guest was given. */
  private lastSentFwd = 0;
  /** The fwd_cnt header() put in the packet being sent. */
  private headerFwd = 0;

  /** connect() resolved this turn: a destroy waits in heldDestroy until the caller has the stream. */
  private handingOver = false;
  private heldDestroy: Error | null | undefined;

  // Host-visible effects, run by settle().
  private readonly inbound: Buffer[] = [];
  private inboundBytes = 0;
  private inboundEof = false;
  private doneWrite: Callback | undefined;
  private doneWriteError: Error | undefined;
  private doneFinal: Callback | undefined;
  /** Destroy the stream at settle: with this error, or none (null). */
  private destroyWith: Error | null | undefined;
  private announce: ((stream: VsockStream) => void) | undefined;
  /** ACCEPTING: ask the host (at settle) whether it takes the connection. */
  private ask: (() => void) | undefined;
  /** Nobody holds the stream yet (ACCEPTING): a reset destroys it quietly. */
  private hidden = false;
  private connectResolve: ((stream: VsockStream) => void) | undefined;
  private connectReject: ((error: Error) => void) | undefined;
  private connectError: Error | undefined;
  private connectDone = false;
  private connectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly owner: ConnectionOwner,
    readonly guestPort: number,
    readonly hostPort: number,
    state: number,
    readableHighWaterMark: number,
    writableHighWaterMark: number,
  ) {
    this.state = state;
    this.stream = new VsockStream(this, readableHighWaterMark, writableHighWaterMark);
  }

  // ---- opening ----

  /** The guest's REQUEST was accepted: a RESPONSE is owed, and `handler` gets the stream at settle. */
  accept(peerBufAlloc: number, peerFwdCnt: number, handler: (stream: VsockStream) => void): void {
    this.peerCredit(peerBufAlloc, peerFwdCnt);
    this.owe(OWE_RESPONSE);
    this.announce = handler;
    this.owner.settleLater(this);
  }

  /**
   * The guest's REQUEST waits for the host's answer: `ask` runs at settle, then answered() owes
   * the RESPONSE, or the owner refuses with RST; after `timeoutMs` without an answer, `onTimeout`.
   */
  offer(
    peerBufAlloc: number,
    peerFwdCnt: number,
    ask: () => void,
    timeoutMs: number,
    onTimeout: () => void,
  ): void {
    this.peerCredit(peerBufAlloc, peerFwdCnt);
    this.ask = ask;
    this.hidden = true;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      if (this.state === ACCEPTING) onTimeout();
    }, timeoutMs);
    this.owner.settleLater(this);
  }

  /** The host takes an offered connection: a RESPONSE is owed; undefined when it is gone meanwhile. */
  answered(): VsockStream | undefined {
    if (this.state !== ACCEPTING) return undefined;
    this.clearTimer();
    this.state = ESTABLISHED;
    this.hidden = false;
    this.owe(OWE_RESPONSE);
    return this.stream;
  }

  /** connect(): a REQUEST is owed; the promise settles on RESPONSE, RST, timeout or reset. */
  connect(resolve: (s: VsockStream) => void, reject: (e: Error) => void, timeoutMs: number): void {
    this.connectResolve = resolve;
    this.connectReject = reject;
    this.connectTimer = setTimeout(() => this.connectTimedOut(timeoutMs), timeoutMs);
    this.owe(OWE_REQUEST);
  }

  /** The guest's RESPONSE to our REQUEST. */
  established(peerBufAlloc: number, peerFwdCnt: number): void {
    this.state = ESTABLISHED;
    this.clearTimer();
    this.peerCredit(peerBufAlloc, peerFwdCnt);
    this.connectDone = true;
    this.owner.settleLater(this);
    if (this.writeCb !== undefined) this.owner.wake(this);
  }

  private connectTimedOut(ms: number): void {
    this.connectTimer = undefined;
    if (this.state !== CONNECTING) return;
    this.owner.abort(this);
    this.failConnect(
      new VsockError(
        'ETIMEDOUT',
        `vsock: the guest did not answer a connection to its port ${this.guestPort} within ${ms} ms: ` +
          'check that the guest has a vsock driver and a program listening there',
      ),
    );
  }

  // ---- what the device sends (§5.10.6.5) ----

  /** The guest's latest buf_alloc and fwd_cnt (every packet carries them, §5.10.6.3). */
  peerCredit(bufAlloc: number, fwdCnt: number): void {
    this.peerBufAlloc = bufAlloc;
    this.peerFwdCnt = fwdCnt;
    if (this.stalledNow && this.credit() > 0) {
      this.stalledNow = false;
      this.owner.wake(this);
    }
  }

  /** Bytes the guest can take now: buf_alloc − (tx_cnt − fwd_cnt), never below 0. */
  credit(): number {
    const inFlight = (this.txTotal - this.peerFwdCnt) >>> 0;
    return inFlight >= this.peerBufAlloc ? 0 : this.peerBufAlloc - inFlight;
  }

  /** Whether a host write is waiting to reach the guest. */
  get writing(): boolean {
    return this.writeCb !== undefined;
  }

  /** The op of the next packet this connection would send now, or 0 for none. */
  nextOp(): number {
    if (this.state === CLOSED) return 0;
    const owed = this.owed;
    if (owed & OWE_REQUEST) return L.VIRTIO_VSOCK_OP_REQUEST;
    if (this.state !== ESTABLISHED) return 0;
    if (owed & OWE_RESPONSE) return L.VIRTIO_VSOCK_OP_RESPONSE;
    if (owed & OWE_CREDIT_UPDATE) return L.VIRTIO_VSOCK_OP_CREDIT_UPDATE;
    if (this.writeCb !== undefined && !this.guestShutRcv) {
      if (this.credit() > 0) return L.VIRTIO_VSOCK_OP_RW;
      if (!this.stalledNow) {
        this.stalledNow = true;
        this.owner.stalled(this);
      }
      return 0; // SHUTDOWN is owed only once every write went out
    }
    if (owed & OWE_SHUTDOWN) return L.VIRTIO_VSOCK_OP_SHUTDOWN;
    return 0;
  }

  /**
   * Fill `h` for a packet `op` from host CID 2 with at most `room` payload bytes; returns the
   * payload length. The header tells the guest our buf_alloc and current fwd_cnt.
   */
  header(h: PacketHeader, op: number, room: number): number {
    const n = op === L.VIRTIO_VSOCK_OP_RW ? Math.min(this.credit(), this.writeRemaining, room) : 0;
    const flags = op === L.VIRTIO_VSOCK_OP_SHUTDOWN ? L.VIRTIO_VSOCK_SHUTDOWN_SEND : 0;
    const fwd = this.fwdCnt();
    this.headerFwd = fwd;
    h.set(
      L.VMADDR_CID_HOST,
      this.hostPort,
      this.owner.guestCid,
      this.guestPort,
      op,
      n,
      flags,
      this.owner.bufAlloc,
      fwd,
    );
    return n;
  }

  /**
   * The packet header() described went into `chain` (header at 0): copy an RW's `n` payload bytes
   * after the header and account for what the packet did.
   */
  sent(h: PacketHeader, chain: DescriptorChain): void {
    this.lastSentFwd = this.headerFwd;
    // Every header carries fwd_cnt and buf_alloc: it is a credit update too.
    this.owed &= ~OWE_CREDIT_UPDATE;
    switch (h.op) {
      case L.VIRTIO_VSOCK_OP_REQUEST:
        this.owed &= ~OWE_REQUEST;
        break;
      case L.VIRTIO_VSOCK_OP_RESPONSE:
        this.owed &= ~OWE_RESPONSE;
        break;
      case L.VIRTIO_VSOCK_OP_RW:
        this.copyPayload(chain, h.len);
        break;
      case L.VIRTIO_VSOCK_OP_SHUTDOWN:
        this.owed &= ~OWE_SHUTDOWN;
        this.hostShutSend = true;
        this.doneFinal = this.finalCb;
        this.finalCb = undefined;
        this.owner.settleLater(this);
        if (this.guestShutSend) this.owner.finish(this);
        break;
    }
  }

  private copyPayload(chain: DescriptorChain, n: number): void {
    let at = L.HDR_SIZE;
    let left = n;
    while (left > 0 && this.chunkIndex < this.chunks.length) {
      const c = this.chunks[this.chunkIndex]!;
      const k = Math.min(c.length - this.chunkOff, left);
      chain.write(at, c, this.chunkOff, k);
      at += k;
      left -= k;
      this.chunkOff += k;
      if (this.chunkOff === c.length) {
        this.chunkIndex++;
        this.chunkOff = 0;
      }
    }
    this.txTotal += n;
    this.writeRemaining -= n;
    if (this.writeRemaining <= 0) this.completeWrite(undefined);
  }

  /** The pending write is done (all of it reached the guest) or failed: its callback runs at settle. */
  private completeWrite(error: Error | undefined): void {
    if (this.writeCb === undefined) return;
    this.doneWrite = this.writeCb;
    this.doneWriteError = error;
    this.writeCb = undefined;
    this.chunks = NO_CHUNKS;
    this.chunkIndex = this.chunkOff = this.writeRemaining = 0;
    this.stalledNow = false;
    this.owner.settleLater(this);
  }

  // ---- what the guest sent (§5.10.6.5) ----

  /**
   * An RW payload (already copied out of guest memory). 'credit': beyond the credit the guest was
   * given (the caller resets the connection); 'shut': after the guest's own SHUTDOWN SEND (dropped).
   */
  receive(payload: Buffer): 'ok' | 'credit' | 'shut' {
    if (this.guestShutSend) return 'shut';
    if (this.rxTotal + payload.length - this.lastSentFwd > this.owner.bufAlloc) return 'credit';
    this.rxTotal += payload.length;
    if (payload.length === 0) return 'ok';
    this.inbound.push(payload);
    this.inboundBytes += payload.length;
    this.owner.settleLater(this);
    return 'ok';
  }

  /** CREDIT_REQUEST: the guest wants our buf_alloc and fwd_cnt now. */
  creditRequested(): void {
    this.owe(OWE_CREDIT_UPDATE);
  }

  /** SHUTDOWN with `flags` (§5.10.6.5.1): the guest will receive (RCV) and/or send (SEND) no more. */
  shutdown(flags: number): void {
    if (flags & L.VIRTIO_VSOCK_SHUTDOWN_RCV && !this.guestShutRcv) {
      this.guestShutRcv = true;
      if (this.writeCb !== undefined) this.completeWrite(this.epipe());
    }
    if (flags & L.VIRTIO_VSOCK_SHUTDOWN_SEND && !this.guestShutSend) {
      this.guestShutSend = true;
      this.inboundEof = true;
      this.owner.settleLater(this);
    }
    if (this.guestShutSend && (this.hostShutSend || this.guestShutRcv)) this.owner.finish(this);
  }

  /** The guest's RST: a refused connect(), an aborted connection, or the end of a closed one. */
  reset(): void {
    if (this.state === CONNECTING) {
      this.closed();
      this.failConnect(
        new VsockError(
          'ECONNREFUSED',
          `vsock: the guest refused a connection to its port ${this.guestPort}: ` +
            'nothing listens there (start the guest program first, or check the port)',
        ),
      );
      return;
    }
    const graceful = this.guestShutSend;
    this.closed();
    if (!graceful) {
      this.inbound.length = 0;
      this.inboundBytes = 0;
      this.destroy(
        new VsockError('ECONNRESET', `vsock: the guest reset the connection on its port ${this.guestPort}`),
      );
    }
  }

  /**
   * Destroy the stream at settle with `error`; one its listener has not been given yet is
   * destroyed quietly instead (nobody could handle its 'error').
   */
  private destroy(error: Error | null): void {
    if (this.announce !== undefined || this.hidden) {
      this.announce = this.ask = undefined;
      this.hidden = false;
      this.destroyWith = null;
    } else this.destroyWith = error;
    this.owner.settleLater(this);
  }

  /**
   * The device went away under the connection (driver reset, close()): destroy the stream with
   * `error` (null: without one); a pending connect() is rejected.
   */
  fail(error: Error | null): void {
    // A connect() still pending (even one whose RESPONSE came in this batch) is rejected: its
    // caller never saw the stream.
    const connectPending = this.connectResolve !== undefined;
    this.closed();
    this.inbound.length = 0;
    this.inboundBytes = 0;
    this.inboundEof = false;
    if (connectPending) {
      this.failConnect(
        error ??
          new VsockError('EVSOCKCLOSED', 'vsock: the device was closed (the VM stopped) while connecting'),
      );
    } else this.destroy(error);
  }

  /** Gone from the device (after finish or abort, or on reset): nothing more reaches the guest. */
  closed(): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    this.owed = 0;
    this.clearTimer();
    if (this.writeCb !== undefined) this.completeWrite(this.epipe());
    if (this.finalCb !== undefined) {
      this.doneFinal = this.finalCb;
      this.finalCb = undefined;
      this.owner.settleLater(this);
    }
  }

  // ---- the stream's side (VsockStream) ----

  /** The host reader took data (or asks for more): maybe tell the guest it has room again. */
  onConsumed(): void {
    this.maybeCreditUpdate();
  }

  onWrite(chunks: readonly Uint8Array[], cb: Callback): void {
    if (this.state === CLOSED || this.guestShutRcv || this.hostShutSend) {
      cb(this.epipe());
      return;
    }
    let total = 0;
    for (const c of chunks) total += c.length;
    if (total === 0) {
      cb();
      return;
    }
    this.chunks = chunks;
    this.chunkIndex = this.chunkOff = 0;
    this.writeRemaining = total;
    this.writeCb = cb;
    if (this.state === ESTABLISHED) this.owner.wake(this);
  }

  onFinal(cb: Callback): void {
    if (this.state === CLOSED) {
      cb();
      return;
    }
    this.finalCb = cb;
    this.owe(OWE_SHUTDOWN);
  }

  onDestroy(): void {
    this.clearTimer();
    this.writeCb = this.finalCb = undefined;
    this.chunks = NO_CHUNKS;
    this.writeRemaining = 0;
    this.inbound.length = 0;
    this.inboundBytes = 0;
    this.inboundEof = false;
    if (this.state !== CLOSED) this.owner.abort(this);
  }

  // ---- host-visible effects ----

  /** Run what the guest and the device did since the last settle, in order (host code runs here). */
  settle(): void {
    this.inSettle = false;
    const s = this.stream;
    if (this.connectDone) {
      this.connectDone = false;
      const resolve = this.connectResolve;
      const reject = this.connectReject;
      this.connectResolve = this.connectReject = undefined;
      const e = this.connectError;
      this.connectError = undefined;
      if (e !== undefined) {
        reject?.(e);
        if (!s.destroyed) s.destroy();
        return;
      }
      resolve?.(s);
      // The caller of connect() gets the stream when its await resumes, after this turn's
      // callbacks: an 'error' emitted before then would have no listener and end the process (a
      // guest that answers RESPONSE and RST at once). Hold a destroy until the turn is over.
      this.handingOver = true;
      setImmediate(() => {
        this.handingOver = false;
        const held = this.heldDestroy;
        this.heldDestroy = undefined;
        if (held !== undefined && !s.destroyed) s.destroy(held ?? undefined);
      });
    }
    if (this.announce !== undefined) {
      const handler = this.announce;
      this.announce = undefined;
      this.guard(() => handler(s));
    }
    if (this.ask !== undefined) {
      const ask = this.ask;
      this.ask = undefined;
      if (this.state === ACCEPTING) ask();
    }
    if (this.inbound.length > 0) {
      this.inboundBytes = 0;
      for (let i = 0; i < this.inbound.length; i++) {
        const b = this.inbound[i]!;
        if (!s.destroyed) this.guard(() => s.push(b));
      }
      this.inbound.length = 0;
    }
    if (this.inboundEof) {
      this.inboundEof = false;
      if (!s.destroyed) this.guard(() => s.push(null));
    }
    if (this.doneWrite !== undefined) {
      const cb = this.doneWrite;
      const e = this.doneWriteError;
      this.doneWrite = this.doneWriteError = undefined;
      this.guard(() => cb(e));
    }
    if (this.doneFinal !== undefined) {
      const cb = this.doneFinal;
      this.doneFinal = undefined;
      this.guard(() => cb());
    }
    if (this.destroyWith !== undefined) {
      const e = this.destroyWith;
      this.destroyWith = undefined;
      if (this.handingOver) this.heldDestroy = e;
      else if (!s.destroyed) s.destroy(e ?? undefined);
    }
    this.maybeCreditUpdate();
  }

  /** Host code that throws (a 'data' handler, a listener) destroys its own stream, not the device. */
  private guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (!this.stream.destroyed) this.stream.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  }

  // ---- helpers ----

  /** fwd_cnt: bytes the host reader has consumed (accepted, less what still waits to be read). */
  private fwdCnt(): number {
    return this.rxTotal - this.inboundBytes - this.stream.readableLength;
  }

  private maybeCreditUpdate(): void {
    if (this.state !== ESTABLISHED || this.guestShutSend || this.owed & OWE_CREDIT_UPDATE) return;
    if (this.fwdCnt() - this.lastSentFwd >= this.owner.creditThreshold) this.owe(OWE_CREDIT_UPDATE);
  }

  private owe(bit: number): void {
    this.owed |= bit;
    this.owner.wake(this);
  }

  private failConnect(error: Error): void {
    this.clearTimer();
    this.connectError = error;
    this.connectDone = true;
    this.owner.settleLater(this);
  }

  private clearTimer(): void {
    if (this.connectTimer !== undefined) {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    }
  }

  private epipe(): VsockError {
    return new VsockError(
      'EPIPE',
      `vsock: the guest no longer receives on its port ${this.guestPort} (it shut the connection down): ` +
        'stop writing to this stream',
    );
  }
}
