// The UDP half of the NAT: each (guest port, remote address, remote port) flow is a host `dgram`
// socket that sends to, and accepts replies only from, that remote; it is closed after `udpIdleMs`
// without traffic. The DNS forwarder is such a flow whose host end is the upstream resolver (the
// guest sees replies come from the DNS address, port 53).
// Host forwards (hostfwd=udp:...) map each host client to a port on the gateway address.
//
// Bounded: at most maxUdpFlows flows, each holding a host fd from the process's NAT budget (a
// datagram that would open one more is refused: ICMP port unreachable); a flow whose host socket
// already holds udpQueueDatagrams unsent datagrams drops the next ones, as a router's full queue
// does (libuv would queue them all: +208 MiB in 3 s under a flooding guest).
import dgram from 'node:dgram';
import { UDP_DATA, type FrameOut } from './frame-out';
import type { HostForward, NetConfig } from './config';
import { natFds } from './fd-budget';

/** Where a guest datagram to dstIp:dstPort goes on the host, or null to refuse it. */
export type UdpRoute = (dstIp: number, dstPort: number) => { host: string; port: number } | null;

interface Flow {
  socket: dgram.Socket;
  host: string;
  port: number;
  guestIp: number;
  guestPort: number;
  remoteIp: number;
  remotePort: number;
  lastUsed: number;
  /** Datagrams handed to the socket and not yet sent (Node queues them itself until it is bound). */
  inFlight: number;
  readonly onSent: () => void;
}

interface ForwardClient {
  server: dgram.Socket;
  address: string;
  port: number;
  guestIp: number;
  guestPort: number;
  lastUsed: number;
}

export class UdpNat {
  private readonly flows = new Map<number, Map<number, Flow>>();
  private readonly forwardsByPort = new Map<number, ForwardClient>();
  private readonly forwardsByClient = new Map<string, number>();
  private readonly servers: dgram.Socket[] = [];
  private nextPort = 50000;
  flowCount = 0;
  /** Datagrams that would have opened a flow beyond the cap or the fd budget. */
  refused = 0;
  /** Guest datagrams dropped because their flow's host socket queue was full. */
  dropped = 0;

  constructor(
    private readonly out: FrameOut,
    private readonly cfg: NetConfig,
    private readonly route: UdpRoute,
  ) {}

  /**
   * A datagram from the guest. Returns false when it is refused (the caller answers with ICMP port
   * unreachable).
   */
  input(
    frame: Uint8Array,
    dataOff: number,
    dataLen: number,
    srcIp: number,
    srcPort: number,
    dstIp: number,
    dstPort: number,
  ): boolean {
    const now = performance.now();
    if (dstIp === this.cfg.gateway) {
      const fwd = this.forwardsByPort.get(dstPort);
      if (fwd && fwd.guestPort === srcPort) {
        fwd.lastUsed = now;
        fwd.server.send(Buffer.from(frame.subarray(dataOff, dataOff + dataLen)), fwd.port, fwd.address);
        return true;
      }
    }
    const key = dstIp * 65536 + dstPort;
    let flow = this.flows.get(srcPort)?.get(key);
    if (!flow) {
      const target = this.route(dstIp, dstPort);
      if (!target || !this.admit()) return false;
      flow = this.open(srcIp, srcPort, dstIp, dstPort, key, target);
    }
    flow.lastUsed = now;
    if (flow.inFlight >= this.cfg.udpQueueDatagrams) {
      this.dropped++;
      this.cfg.log?.(
        'nat-udp-queue',
        `NAT: dropped guest UDP datagrams to port ${dstPort}: the host socket's queue is full`,
      );
      return true;
    }
    flow.inFlight++;
    flow.socket.send(
      Buffer.from(frame.subarray(dataOff, dataOff + dataLen)),
      flow.port,
      flow.host,
      flow.onSent,
    );
    return true;
  }

  /** Room for one more flow (the cap, then the process's fd budget); takes its fd. */
  private admit(): boolean {
    if (this.flowCount >= this.cfg.maxUdpFlows) {
      this.refused++;
      this.cfg.log?.('nat-udp-cap', `NAT: refused a UDP flow: ${this.cfg.maxUdpFlows} are open (the cap)`);
      return false;
    }
    if (!natFds().take()) {
      this.refused++;
      this.cfg.log?.(
        'nat-fd-budget',
        'NAT: refused a UDP flow: the host file descriptors kept for flows are in use',
      );
      return false;
    }
    return true;
  }

  private open(
    srcIp: number,
    srcPort: number,
    dstIp: number,
    dstPort: number,
    key: number,
    target: { host: string; port: number },
  ): Flow {
    const socket = dgram.createSocket('udp4');
    const flow: Flow = {
      socket,
      host: target.host,
      port: target.port,
      guestIp: srcIp,
      guestPort: srcPort,
      remoteIp: dstIp,
      remotePort: dstPort,
      lastUsed: 0,
      inFlight: 0,
      onSent: () => void flow.inFlight--,
    };
    // not connect(): sends would fail until it completes; replies are filtered by source instead
    socket.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      if (rinfo.port !== flow.port || rinfo.address !== flow.host) return;
      flow.lastUsed = performance.now();
      this.toGuest(msg, flow.remoteIp, flow.remotePort, flow.guestIp, flow.guestPort);
    });
    socket.on('error', () => this.drop(flow));
    let byPort = this.flows.get(srcPort);
    if (!byPort) this.flows.set(srcPort, (byPort = new Map()));
    byPort.set(key, flow);
    this.flowCount++;
    return flow;
  }

  private toGuest(msg: Buffer, srcIp: number, srcPort: number, dstIp: number, dstPort: number): void {
    const max = this.cfg.mtu - 28;
    if (msg.length > max) return; // no fragmentation towards the guest
    this.out.buf.set(msg, UDP_DATA);
    this.out.sendUdp(srcIp, dstIp, srcPort, dstPort, msg.length);
  }

  private drop(flow: Flow): void {
    const byPort = this.flows.get(flow.guestPort);
    const key = flow.remoteIp * 65536 + flow.remotePort;
    if (byPort?.get(key) === flow) {
      byPort.delete(key);
      if (byPort.size === 0) this.flows.delete(flow.guestPort);
      this.flowCount--;
      natFds().give();
      flow.socket.close();
    }
  }

  /** Binds a host forward: datagrams from each host client reach the guest from gateway:PORT. */
  listen(fwd: HostForward): Promise<dgram.Socket> {
    const server = dgram.createSocket('udp4');
    server.on('message', (msg, rinfo) => {
      const id = `${rinfo.address}:${rinfo.port}`;
      let port = this.forwardsByClient.get(id);
      if (port === undefined) {
        port = this.nextPort = this.nextPort >= 59999 ? 50000 : this.nextPort + 1;
        const old = this.forwardsByPort.get(port);
        if (old) this.forwardsByClient.delete(`${old.address}:${old.port}`);
        this.forwardsByClient.set(id, port);
        this.forwardsByPort.set(port, {
          server,
          address: rinfo.address,
          port: rinfo.port,
          guestIp: fwd.guestAddress || this.cfg.guest,
          guestPort: fwd.guestPort,
          lastUsed: 0,
        });
      }
      const client = this.forwardsByPort.get(port)!;
      client.lastUsed = performance.now();
      this.toGuest(msg, this.cfg.gateway, port, client.guestIp, client.guestPort);
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.bind(fwd.hostPort, fwd.hostAddress, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  /** Closes idle flows. */
  tick(now: number): void {
    for (const byPort of this.flows.values()) {
      for (const flow of byPort.values()) if (now - flow.lastUsed > this.cfg.udpIdleMs) this.drop(flow);
    }
    for (const [port, c] of this.forwardsByPort) {
      if (now - c.lastUsed > this.cfg.udpIdleMs) {
        this.forwardsByPort.delete(port);
        this.forwardsByClient.delete(`${c.address}:${c.port}`);
      }
    }
  }

  close(): void {
    for (const byPort of [...this.flows.values()]) for (const flow of [...byPort.values()]) this.drop(flow);
    for (const s of this.servers) s.close();
  }
}
