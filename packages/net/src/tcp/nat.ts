// The TCP half of the NAT: a table of connections keyed by (guest port, remote address, remote
// port), guest SYNs turned into host `net` sockets, and host forwards (hostfwd=tcp:...) turned into
// connections the NAT opens towards the guest.
import net from 'node:net';
import { ACK, RST, SYN, type TcpHeader } from './header';
import { TcpConnection, TcpState, type TcpOwner } from './connection';
import type { FrameOut } from '../frame-out';
import type { HostForward, NetConfig } from '../config';

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

  constructor(
    readonly out: FrameOut,
    private readonly cfg: NetConfig,
    private readonly route: Route,
  ) {}

  now(): number {
    return performance.now();
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
    for (let i = 0; i < this.pendingPumps.length; i++) {
      const c = this.pendingPumps[i]!;
      c.pumpPending = false;
      c.pump();
    }
    this.pendingPumps.length = 0;
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
    this.all.delete(conn);
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

  /** Runs the connections' timers. */
  tick(now: number): void {
    for (const c of this.all) if (c.deadline !== 0 && now >= c.deadline) c.timeout();
  }

  close(): void {
    for (const c of [...this.all]) c.abort(false);
    for (const s of this.servers) s.close();
  }
}
