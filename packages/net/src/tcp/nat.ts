// The TCP half of the NAT: a table of connections keyed by (guest port, remote address, remote
// port), guest SYNs turned into host `net` sockets, and host forwards (hostfwd=tcp:...) turned into
// connections the NAT opens towards the guest.
//
// Bounded: at most maxTcpConnections connections, each holding a host fd from the process's NAT
// budget (fd-budget.ts); a guest SYN beyond either gets a RST. A connection not established
// within tcpHandshakeMs is reset (a SYN the guest never completes, a host that never answers).
// The bytes buffered over all connections are bounded by maxBufferedBytes.
import net from 'node:net';
import { ACK, RST, SYN, type TcpHeader } from './header';
import { TcpConnection, TcpState, type TcpOwner } from './connection';
import type { FrameOut } from '../frame-out';
import type { HostForward, NetConfig } from '../config';
import { natFds } from '../fd-budget';

/** Where a guest connection to `dstIp:dstPort` goes on the host, or null to refuse it at once. */
export type Route = (dstIp: number, dstPort: number) => string | null;

export class TcpNat implements TcpOwner {
  /** guest port -> (remote ip * 65536 + remote port) -> connection */
  private readonly table = new Map<number, Map<number, TcpConnection>>();
  readonly all = new Set<TcpConnection>();
  private readonly pendingAcks: TcpConnection[] = [];
  private readonly pendingPumps: TcpConnection[] = [];
  private pumpsQueued = false;
  private readonly servers: net.Server[] = [];
  private nextPort = 40000;
  /** Host data queued for the guest over all connections. */
  private queuedTotal = 0;
  /** Guest data waiting in host sockets over all connections (summed at each tick). */
  private writableTotal = 0;
  /** Guest SYNs refused: the connection cap, the fd budget. */
  refused = 0;
  readonly zeroWindowMs: number;

  constructor(
    readonly out: FrameOut,
    private readonly cfg: NetConfig,
    private readonly route: Route,
  ) {
    this.zeroWindowMs = cfg.tcpZeroWindowMs;
  }

  now(): number {
    return performance.now();
  }

  bufferRoom(): number {
    return Math.max(0, this.cfg.maxBufferedBytes - this.queuedTotal - this.writableTotal);
  }

  queuedDelta(delta: number): void {
    this.queuedTotal += delta;
  }

  /** Bytes buffered over all connections (both directions), as of the last tick for guest data. */
  get bufferedBytes(): number {
    return this.queuedTotal + this.writableTotal;
  }

  log(kind: string, line: string): void {
    this.cfg.log?.(kind, line);
  }

  ackLater(conn: TcpConnection): void {
    if (conn.ackPending) return;
    conn.ackPending = true;
    this.pendingAcks.push(conn);
  }

  pumpLater(conn: TcpConnection): void {
    if (conn.pumpPending) return;
    conn.pumpPending = true;
    this.pendingPumps.push(conn);
    if (!this.pumpsQueued) {
      this.pumpsQueued = true;
      setImmediate(this.runPumps);
    }
  }

  private readonly runPumps = (): void => {
    this.pumpsQueued = false;
    // Only those pending now: a pump that asks for another turn gets it after the event loop's.
    const n = this.pendingPumps.length;
    for (let i = 0; i < n; i++) {
      const c = this.pendingPumps[i]!;
      c.pumpPending = false;
      c.pump();
    }
    this.pendingPumps.splice(0, n);
    if (this.pendingPumps.length > 0 && !this.pumpsQueued) {
      this.pumpsQueued = true;
      setImmediate(this.runPumps);
    }
  };

  flush(): void {
    for (let i = 0; i < this.pendingAcks.length; i++) {
      const c = this.pendingAcks[i]!;
      if (c.ackPending) c.sendAck();
      c.ackPending = false;
    }
    this.pendingAcks.length = 0;
  }

  remove(conn: TcpConnection): void {
    if (this.all.delete(conn)) natFds().give();
    const byPort = this.table.get(conn.guestPort);
    if (byPort?.get(conn.key) === conn) {
      byPort.delete(conn.key);
      if (byPort.size === 0) this.table.delete(conn.guestPort);
    }
  }

  /** A segment from the guest (checksum verified) from srcIp to dstIp. */
  input(h: TcpHeader, frame: Uint8Array, srcIp: number, dstIp: number): void {
    const key = dstIp * 65536 + h.dstPort;
    const conn = this.table.get(h.srcPort)?.get(key);
    if (conn) {
      conn.input(h, frame);
      return;
    }
    if ((h.flags & (SYN | ACK | RST)) === SYN) {
      this.openFromGuest(h, srcIp, dstIp, key);
      return;
    }
    if (!(h.flags & RST)) this.reset(h, srcIp, dstIp);
  }

  /** RFC 9293 §3.10.7.1: a segment for no connection gets a RST. */
  private reset(h: TcpHeader, srcIp: number, dstIp: number): void {
    const fin = h.flags & 1 ? 1 : 0;
    const syn = h.flags & SYN ? 1 : 0;
    if (h.flags & ACK) this.out.sendTcp(dstIp, srcIp, h.dstPort, h.srcPort, h.ack, 0, RST, 0, 0);
    else
      this.out.sendTcp(
        dstIp,
        srcIp,
        h.dstPort,
        h.srcPort,
        0,
        (h.seq + h.dataLen + syn + fin) >>> 0,
        RST | ACK,
        0,
        0,
      );
  }

  private openFromGuest(h: TcpHeader, srcIp: number, dstIp: number, key: number): void {
    const host = this.route(dstIp, h.dstPort);
    if (host === null) {
      this.reset(h, srcIp, dstIp);
      return;
    }
    if (!this.admit()) {
      this.reset(h, srcIp, dstIp);
      return;
    }
    const socket = new net.Socket({ allowHalfOpen: true });
    const conn = new TcpConnection(
      this,
      socket,
      srcIp,
      h.srcPort,
      dstIp,
      h.dstPort,
      this.cfg.tcpBuffer,
      this.cfg.mtu,
      key,
      TcpState.Connecting,
    );
    conn.acceptSyn(h);
    this.insert(conn);
    this.wire(conn);
    socket.pause();
    socket.once('connect', () => {
      socket.setNoDelay(true);
      conn.hostConnected();
    });
    socket.connect({ host, port: h.dstPort });
  }

  /** Room for one more connection (the cap, then the process's fd budget); takes its fd. */
  private admit(): boolean {
    if (this.all.size >= this.cfg.maxTcpConnections) {
      this.refused++;
      this.log(
        'nat-tcp-cap',
        `NAT: refused a TCP connection: ${this.cfg.maxTcpConnections} are open (the cap)`,
      );
      return false;
    }
    if (!natFds().take()) {
      this.refused++;
      this.log(
        'nat-fd-budget',
        'NAT: refused a TCP connection: the host file descriptors kept for flows are in use',
      );
      return false;
    }
    return true;
  }

  private insert(conn: TcpConnection): void {
    let byPort = this.table.get(conn.guestPort);
    if (!byPort) this.table.set(conn.guestPort, (byPort = new Map()));
    byPort.set(conn.key, conn);
    this.all.add(conn);
  }

  private wire(conn: TcpConnection): void {
    const s = conn.socket;
    s.on('data', (chunk: Buffer) => conn.hostData(chunk));
    s.on('end', () => conn.hostEnd());
    s.on('drain', () => conn.hostDrain());
    s.on('error', () => conn.abort(true));
    s.on('close', (hadError: boolean) => {
      if (hadError) conn.abort(true);
    });
  }

  /** Listens for a host forward; each host connection becomes a connection opened to the guest. */
  listen(fwd: HostForward): Promise<net.Server> {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
      if (!this.admit()) {
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      const guestIp = fwd.guestAddress || this.cfg.guest;
      const port = this.allocPort();
      const key = this.cfg.gateway * 65536 + port;
      const conn = new TcpConnection(
        this,
        socket,
        guestIp,
        fwd.guestPort,
        this.cfg.gateway,
        port,
        this.cfg.tcpBuffer,
        this.cfg.mtu,
        key,
        TcpState.SynSent,
      );
      this.insert(conn);
      this.wire(conn);
      conn.startActive();
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(fwd.hostPort, fwd.hostAddress, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  private allocPort(): number {
    this.nextPort = this.nextPort >= 60999 ? 40000 : this.nextPort + 1;
    return this.nextPort;
  }

  /** Runs the connections' timers, bounds handshakes, sums what host sockets hold, resumes paused reads. */
  tick(now: number): void {
    let writable = 0;
    for (const c of this.all) {
      if (c.handshaking && now - c.openedAt > this.cfg.tcpHandshakeMs) {
        this.log(
          'nat-handshake',
          `NAT: reset a TCP connection from guest port ${c.guestPort}: not established within ${this.cfg.tcpHandshakeMs / 1000} s`,
        );
        c.abort(true);
        continue;
      }
      if (c.deadline !== 0 && now >= c.deadline) c.timeout();
      writable += c.socket.writableLength;
    }
    this.writableTotal = writable;
    if (this.bufferRoom() > 0) for (const c of this.all) if (c.paused) c.maybeResume();
  }

  close(): void {
    for (const c of [...this.all]) c.abort(false);
    for (const s of this.servers) s.close();
  }
}
