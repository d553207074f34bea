// One TCP connection between the guest and a host socket: RFC 9293 (state machine, §3.10 event
// processing, reduced to what a NAT endpoint needs), RFC 6298 (RTO), RFC 7323 (window scaling),
// RFC 5681 §3.2 (fast retransmit after three duplicate ACKs), RFC 9293 §3.8.6.1 (zero-window probes).
//
// Backpressure, both ways, with bounded buffers:
// - guest -> host: data is written to the host socket at once; the window we advertise is
//   `tcpBuffer - socket.writableLength`, so a slow host peer closes the guest's window;
// - host -> guest: host data waits in `queue` until the guest ACKs it; when `queued` reaches
//   `tcpBuffer` the host socket is paused, and resumed below half.
// Out-of-order segments from the guest are dropped (a duplicate ACK makes it retransmit).
//
// Bounded against a hostile guest: its MSS is clamped to at least MIN_MSS (an MSS of 1 would make
// one ACK turn a 1 MiB queue into a million frames: Linux's fix for CVE-2019-11479 clamps too);
// one call sends at most MAX_SEGMENTS_PER_PUMP segments (the rest after the event loop turns); a
// window held at 0 longer than tcpZeroWindowMs resets the connection (each probe it answers
// would otherwise keep it, and its buffers, forever); a handshake is bounded by the owner.
import type net from 'node:net';
import { ACK, FIN, PSH, RST, SYN, seqDiff, seqLe, seqLt, type TcpHeader } from './header';
import { TCP_DATA, TCP_MAX_DATA, type FrameOut } from '../frame-out';

export const enum TcpState {
  /** guest SYN received, host connect() under way */
  Connecting,
  /** host connected, SYN-ACK sent to the guest */
  SynReceived,
  /** host forward: SYN sent to the guest */
  SynSent,
  Established,
  /** both sides closed: lingering to answer retransmitted FINs */
  TimeWait,
  Closed,
}

const MIN_RTO = 200;
const MAX_RTO = 60_000;
const MAX_RETRIES = 12;
const TIME_WAIT_MS = 2_000;
/** The smallest MSS taken from a guest: the classic default (RFC 9293 §3.7.1; RFC 879). */
export const MIN_MSS = 536;
/** Segments one pump() sends at most; more wait for the next turn of the event loop. */
export const MAX_SEGMENTS_PER_PUMP = 64;

export interface TcpOwner {
  readonly out: FrameOut;
  now(): number;
  /** Bytes the NAT may still buffer over all its connections (maxBufferedBytes less what is held). */
  bufferRoom(): number;
  /** Host data queued for the guest changed by `delta` bytes (for the NAT's total). */
  queuedDelta(delta: number): void;
  /** A window held at 0 this long resets the connection (ms). */
  readonly zeroWindowMs: number;
  /** One line a user should see (rate-limited by the receiver). */
  log(kind: string, line: string): void;
  /** queues an ACK for the end of the input batch */
  ackLater(conn: TcpConnection): void;
  /** runs `conn.pump()` once the host reads of this event-loop turn are in (sends held tails) */
  pumpLater(conn: TcpConnection): void;
  remove(conn: TcpConnection): void;
}

export class TcpConnection {
  state: TcpState;
  // guest -> host
  rcvNxt = 0;
  rcvWscale = 0;
  guestFin = false;
  // host -> guest
  readonly iss = (Math.random() * 0x100000000) >>> 0;
  sndUna: number;
  sndNxt: number;
  sndWnd = 0;
  sndWscale = 0;
  mss = 536;
  private queue: Buffer[] = [];
  private headOff = 0;
  /** bytes queued from sndUna (unacknowledged + unsent) */
  queued = 0;
  hostEnded = false;
  finSent = false;
  finAcked = false;
  // timers (ms timestamps; 0 = not armed)
  deadline = 0;
  private rto = 1000;
  private srtt = 0;
  private rttvar = 0;
  private rttSeq = 0;
  private rttStart = 0;
  private retries = 0;
  private dupAcks = 0;
  paused = false;
  ackPending = false;
  pumpPending = false;
  private lastWindow = 0;
  /** When the connection was opened (the handshake is bounded from here). */
  readonly openedAt: number;
  /** Since when the guest's window has been 0 with data waiting (0: it is not). */
  private zeroWindowSince = 0;

  constructor(
    private readonly owner: TcpOwner,
    readonly socket: net.Socket,
    readonly guestIp: number,
    readonly guestPort: number,
    readonly remoteIp: number,
    readonly remotePort: number,
    private readonly tcpBuffer: number,
    private readonly mtu: number,
    readonly key: number,
    state: TcpState,
  ) {
    this.state = state;
    this.openedAt = owner.now();
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    let ws = 0;
    while (tcpBuffer >>> ws > 0xffff && ws < 14) ws++;
    this.rcvWscale = ws;
  }

  // ---- passive open (guest connects out) -----------------------------------------------------

  /** Records the guest's SYN (before the host socket connects). */
  acceptSyn(h: TcpHeader): void {
    this.rcvNxt = (h.seq + 1) >>> 0;
    this.mss = clampMss(h.mss, this.mtu);
    if (h.wscale >= 0) this.sndWscale = h.wscale;
    else this.rcvWscale = 0;
    this.sndWnd = h.window;
  }

  /** Not yet established (connecting, or a SYN exchange under way). */
  get handshaking(): boolean {
    return (
      this.state === TcpState.Connecting ||
      this.state === TcpState.SynReceived ||
      this.state === TcpState.SynSent
    );
  }

  /** The host socket connected: answer the guest's SYN. */
  hostConnected(): void {
    if (this.state !== TcpState.Connecting) return;
    this.state = TcpState.SynReceived;
    this.sendSyn();
  }

  // ---- active open (host forward) ------------------------------------------------------------

  startActive(): void {
    this.sendSyn();
  }

  private sendSyn(): void {
    const flags = this.state === TcpState.SynSent ? SYN : SYN | ACK;
    const wscale =
      this.state === TcpState.SynSent || this.sndWscale > 0 || this.rcvWscale > 0 ? this.rcvWscale : -1;
    this.owner.out.sendTcp(
      this.remoteIp,
      this.guestIp,
      this.remotePort,
      this.guestPort,
      this.iss,
      this.rcvNxt,
      flags,
      Math.min(this.tcpBuffer, 0xffff),
      0,
      this.mtu - 40,
      wscale,
    );
    this.sndNxt = (this.iss + 1) >>> 0;
    this.arm(this.rto);
  }

  // ---- segments from the guest ---------------------------------------------------------------

  input(h: TcpHeader, frame: Uint8Array): void {
    const flags = h.flags;
    if (flags & RST) {
      // RFC 9293 §3.10.7.4 / RFC 5961: accept a RST inside the window
      if (this.state === TcpState.SynSent || seqDiff(h.seq, this.rcvNxt) >= 0) this.abort(false);
      return;
    }
    if (this.state === TcpState.SynSent) {
      if ((flags & (SYN | ACK)) === (SYN | ACK) && h.ack === (this.iss + 1) >>> 0) {
        this.rcvNxt = (h.seq + 1) >>> 0;
        this.mss = clampMss(h.mss, this.mtu);
        if (h.wscale >= 0) this.sndWscale = h.wscale;
        else this.rcvWscale = 0;
        this.sndUna = this.sndNxt = h.ack;
        this.sndWnd = h.window << this.sndWscale;
        this.establish();
        this.sendAck();
      }
      return;
    }
    if (this.state === TcpState.Connecting) return; // retransmitted SYN while the host connects
    if (flags & SYN) {
      // our SYN-ACK was lost: send it again
      if (this.state === TcpState.SynReceived) this.sendSyn();
      else this.owner.ackLater(this);
      return;
    }
    if (!(flags & ACK)) return;
    if (this.state === TcpState.SynReceived) {
      if (h.ack !== (this.iss + 1) >>> 0) return;
      this.sndUna = h.ack;
      this.establish();
    }
    this.processAck(h);
    if (this.state === TcpState.Closed) return;
    this.processData(h, frame);
    this.pump();
    this.checkDone();
  }

  private establish(): void {
    this.state = TcpState.Established;
    this.retries = 0;
    this.deadline = 0;
    this.socket.resume();
  }

  private processAck(h: TcpHeader): void {
    const acked = seqDiff(h.ack, this.sndUna);
    if (acked < 0 || seqLt(this.sndNxt, h.ack)) {
      if (seqLt(this.sndNxt, h.ack)) this.owner.ackLater(this);
      return;
    }
    const wnd = h.window << this.sndWscale;
    if (wnd > 0) this.zeroWindowSince = 0;
    if (acked === 0) {
      if (h.dataLen === 0 && wnd === this.sndWnd && this.sndNxt !== this.sndUna && !(h.flags & FIN)) {
        if (++this.dupAcks === 3) this.fastRetransmit();
      }
      this.sndWnd = wnd;
      return;
    }
    this.dupAcks = 0;
    this.sndWnd = wnd;
    let dataAcked = Math.min(acked, this.queued);
    if (this.finSent && acked > this.queued) this.finAcked = true;
    this.queued -= dataAcked;
    this.owner.queuedDelta(-dataAcked);
    this.sndUna = h.ack;
    while (dataAcked > 0) {
      const head = this.queue[0]!;
      const left = head.length - this.headOff;
      if (dataAcked >= left) {
        dataAcked -= left;
        this.queue.shift();
        this.headOff = 0;
      } else {
        this.headOff += dataAcked;
        dataAcked = 0;
      }
    }
    if (this.rttSeq !== 0 && seqLe(this.rttSeq, h.ack)) this.sampleRtt(this.owner.now() - this.rttStart);
    this.retries = 0;
    this.deadline = this.sndNxt === this.sndUna ? 0 : this.owner.now() + this.rto;
    this.maybeResume();
  }

  /** Resume reading the host socket once its queue and the NAT's total have room again. */
  maybeResume(): void {
    if (this.paused && this.queued < this.tcpBuffer / 2 && this.owner.bufferRoom() > 0) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private sampleRtt(r: number): void {
    // RFC 6298 §2
    if (this.srtt === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rto = Math.min(MAX_RTO, Math.max(MIN_RTO, this.srtt + 4 * this.rttvar));
    this.rttSeq = 0;
  }

  /** Window we offer the guest (bytes): the room left in the host socket's write buffer, and in the NAT's. */
  private receiveWindow(): number {
    return Math.max(0, Math.min(this.tcpBuffer - this.socket.writableLength, this.owner.bufferRoom()));
  }

  private processData(h: TcpHeader, frame: Uint8Array): void {
    const fin = (h.flags & FIN) !== 0;
    if (h.dataLen === 0 && !fin) return;
    const skip = seqDiff(this.rcvNxt, h.seq);
    if (skip < 0) {
      // out of order: drop, and a duplicate ACK asks for the missing bytes
      this.owner.ackLater(this);
      return;
    }
    let n = h.dataLen - skip;
    let finOk = fin;
    if (n < 0 || (n === 0 && (!fin || this.guestFin))) {
      this.owner.ackLater(this); // an old duplicate
      return;
    }
    const room = this.receiveWindow();
    if (n > room) {
      n = room;
      finOk = false;
    }
    if (n > 0 && !this.guestFin) {
      const start = h.dataOff + skip;
      this.socket.write(Buffer.from(frame.subarray(start, start + n)));
      this.rcvNxt = (this.rcvNxt + n) >>> 0;
    }
    if (finOk && !this.guestFin) {
      this.guestFin = true;
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      this.socket.end();
    }
    this.owner.ackLater(this);
  }

  // ---- data from the host --------------------------------------------------------------------

  hostData(chunk: Buffer): void {
    if (this.state === TcpState.Closed || this.state === TcpState.TimeWait) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.owner.queuedDelta(chunk.length);
    if ((this.queued >= this.tcpBuffer || this.owner.bufferRoom() <= 0) && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    // Full segments now; a short tail waits for the end of this turn, when the next reads of a
    // stream (libuv reads up to 64 KiB at a time, several per wake-up) have joined it.
    this.pump(false);
    this.owner.pumpLater(this);
  }

  hostEnd(): void {
    this.hostEnded = true;
    this.pump();
    this.checkDone();
  }

  /** Host socket drained: the guest may send again (window update). */
  hostDrain(): void {
    if (this.state === TcpState.Established && this.lastWindow < this.mss) this.sendAck();
  }

  /**
   * Sends what the guest's window allows, then FIN when the host has ended. Segments are the
   * guest's MSS, or super-segments of many MSS when the port cuts them (FramePort.tso). `tail`
   * false holds back a last segment shorter than that while others are in flight, unless the
   * host has ended (a lone short answer goes at once).
   */
  pump(tail = true): void {
    if (this.state !== TcpState.Established) return;
    let offset = seqDiff(this.sndNxt, this.sndUna);
    if (this.finSent) return;
    const seg = this.owner.out.tso ? this.superSegment() : this.mss;
    let sent = 0;
    while (offset < this.queued) {
      const win = this.sndWnd - offset;
      if (win <= 0) break;
      if (sent++ >= MAX_SEGMENTS_PER_PUMP) {
        this.owner.pumpLater(this); // the rest after the event loop turns
        break;
      }
      const left = this.queued - offset;
      if (!tail && left < seg && left <= win && !this.hostEnded && this.sndNxt !== this.sndUna) break;
      const n = Math.min(left, win, seg);
      this.sendSegment(offset, n, offset + n === this.queued ? ACK | PSH : ACK);
      offset += n;
      this.sndNxt = (this.sndUna + offset) >>> 0;
    }
    if (offset === this.queued && this.hostEnded && !this.finSent && this.sndWnd - offset >= 0) {
      this.finSent = true;
      this.sendSegmentFlags(this.sndNxt, 0, ACK | FIN);
      this.sndNxt = (this.sndNxt + 1) >>> 0;
    }
    if (this.deadline === 0 && (this.sndNxt !== this.sndUna || this.queued > 0)) this.arm(this.rto);
  }

  /** The largest whole number of MSS-sized segments one frame can carry. */
  private superSegment(): number {
    return Math.max(this.mss, Math.floor(TCP_MAX_DATA / this.mss) * this.mss);
  }

  /** Copies `n` queued bytes starting `offset` past sndUna into the frame and sends them. */
  private sendSegment(offset: number, n: number, flags: number): void {
    const buf = this.owner.out.buf;
    let dst = TCP_DATA;
    let skip = this.headOff + offset;
    let left = n;
    for (let i = 0; left > 0 && i < this.queue.length; i++) {
      const chunk = this.queue[i]!;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const take = Math.min(chunk.length - skip, left);
      buf.set(chunk.subarray(skip, skip + take), dst);
      dst += take;
      left -= take;
      skip = 0;
    }
    const seq = (this.sndUna + offset) >>> 0;
    if (this.rttSeq === 0 && seq === this.sndNxt) {
      this.rttSeq = (seq + n) >>> 0;
      this.rttStart = this.owner.now();
    }
    this.sendSegmentFlags(seq, n, flags);
  }

  private sendSegmentFlags(seq: number, n: number, flags: number): void {
    const wnd = this.receiveWindow();
    const adv = Math.min(0xffff, wnd >>> this.rcvWscale);
    this.lastWindow = adv << this.rcvWscale;
    this.ackPending = false;
    this.owner.out.sendTcp(
      this.remoteIp,
      this.guestIp,
      this.remotePort,
      this.guestPort,
      seq,
      this.rcvNxt,
      flags,
      adv,
      n,
      0,
      -1,
      n > this.mss ? this.mss : 0,
    );
  }

  sendAck(): void {
    if (this.state === TcpState.Closed) return;
    this.sendSegmentFlags(this.sndNxt, 0, ACK);
  }

  private fastRetransmit(): void {
    const n = Math.min(this.queued, this.mss);
    if (n > 0) this.sendSegment(0, n, ACK);
    this.rttSeq = 0;
  }

  // ---- timers --------------------------------------------------------------------------------

  private arm(ms: number): void {
    this.deadline = this.owner.now() + ms;
  }

  /** The deadline passed: retransmit, probe a zero window, or leave TIME-WAIT. */
  timeout(): void {
    this.deadline = 0;
    if (this.state === TcpState.TimeWait) {
      // the host peer may still be reading the guest's last bytes: never cut them off
      if (this.socket.writableLength > 0 && !this.socket.destroyed) this.arm(TIME_WAIT_MS);
      else this.close();
      return;
    }
    if (this.state === TcpState.Connecting) return;
    if (++this.retries > MAX_RETRIES) {
      this.abort(true);
      return;
    }
    this.rto = Math.min(MAX_RTO, this.rto * 2);
    this.rttSeq = 0;
    if (this.state === TcpState.SynSent || this.state === TcpState.SynReceived) {
      this.sendSyn();
      return;
    }
    if (this.sndNxt === this.sndUna && this.sndWnd === 0 && this.queued > 0) {
      const now = this.owner.now();
      if (this.zeroWindowSince === 0) this.zeroWindowSince = now;
      else if (now - this.zeroWindowSince > this.owner.zeroWindowMs) {
        this.owner.log(
          'nat-zero-window',
          `NAT: reset a TCP connection from guest port ${this.guestPort}: its window stayed 0 for ${Math.round(this.owner.zeroWindowMs / 1000)} s`,
        );
        this.abort(true);
        return;
      }
      // zero-window probe: an old sequence number makes the guest answer with its window
      this.retries = 0;
      this.sendSegmentFlags((this.sndUna - 1) >>> 0, 0, ACK);
      this.arm(Math.min(this.rto, 2000));
      return;
    }
    // go back N
    this.sndNxt = this.sndUna;
    if (this.finSent && !this.finAcked) this.finSent = false;
    if (this.sndWnd === 0) this.sndWnd = this.mss;
    this.pump();
    if (this.deadline === 0) this.arm(this.rto);
  }

  // ---- closing -------------------------------------------------------------------------------

  private checkDone(): void {
    if (this.state === TcpState.Established && this.guestFin && this.finAcked) {
      this.state = TcpState.TimeWait;
      this.deadline = this.owner.now() + TIME_WAIT_MS;
    }
  }

  /** Sends RST to the guest (if `notify`), destroys the host socket and forgets the connection. */
  abort(notify: boolean): void {
    if (this.state === TcpState.Closed) return;
    if (notify && this.state !== TcpState.TimeWait) {
      if (this.state === TcpState.Connecting)
        this.owner.out.sendTcp(
          this.remoteIp,
          this.guestIp,
          this.remotePort,
          this.guestPort,
          0,
          this.rcvNxt,
          RST | ACK,
          0,
          0,
        );
      else
        this.owner.out.sendTcp(
          this.remoteIp,
          this.guestIp,
          this.remotePort,
          this.guestPort,
          this.sndNxt,
          this.rcvNxt,
          RST | ACK,
          0,
          0,
        );
    }
    this.close();
  }

  private close(): void {
    if (this.state === TcpState.Closed) return;
    this.state = TcpState.Closed;
    this.queue.length = 0;
    this.owner.queuedDelta(-this.queued);
    this.queued = 0;
    this.deadline = 0;
    this.socket.destroy();
    this.owner.remove(this);
  }
}

/** The guest's MSS option (0: none, RFC 9293 §3.7.1 default 536), clamped to [MIN_MSS, MTU - 40]. */
function clampMss(mss: number, mtu: number): number {
  return Math.min(Math.max(mss || MIN_MSS, MIN_MSS), mtu - 40);
}
