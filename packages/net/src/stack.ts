// The NAT: Ethernet frames from the guest in, host sockets out, frames for the guest back through
// a FramePort. Answers ARP and ICMP echo for the gateway and DNS addresses, serves DHCP, forwards
// DNS, and hands TCP and UDP to the NAT tables. Malformed frames are counted and dropped, never
// thrown on.
import { ArpPacket, ARP_REPLY, ARP_REQUEST } from './arp';
import { ETH_HLEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, etherType, BROADCAST_MAC } from './ethernet';
import { Ipv4Header, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './ipv4';
import {
  IcmpHeader,
  ICMP_ADMIN_PROHIBITED,
  ICMP_DEST_UNREACH,
  ICMP_ECHO,
  ICMP_ECHO_REPLY,
  ICMP_PORT_UNREACH,
} from './icmp';
import { UdpHeader } from './udp';
import { TcpHeader } from './tcp/header';
import { TcpNat } from './tcp/nat';
import { UdpNat } from './udp-nat';
import {
  DhcpMessage,
  DHCPACK,
  DHCPDISCOVER,
  DHCPNAK,
  DHCPOFFER,
  DHCPREQUEST,
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  writeDhcpReply,
  type DhcpLease,
} from './dhcp';
import { DnsHeader, DNS_PORT } from './dns';
import { FrameOut, IP_PAYLOAD, UDP_DATA } from './frame-out';
import { defaultConfig, netmask, type NetConfig } from './config';
import { hostNameserver } from './resolv';
import type { FramePort, FrameSink } from './frame-port';
import { NetConfigError } from './errors';
import { formatIpv4 } from './addr';
import { OutboundPolicy, formatOutboundDeny } from './policy';

const LOOPBACK = '127.0.0.1';
const TICK_MS = 25;

export interface NatStats {
  framesIn: number;
  framesOut: number;
  dropped: number;
  tcpConnections: number;
  udpFlows: number;
  /** guest flows refused by a cap or the fd budget (TCP SYNs answered with RST, UDP with ICMP) */
  refusedByCap: number;
  /** guest flows refused by the outbound policy (deny=...) */
  refusedByPolicy: number;
  /** guest UDP datagrams dropped on a full host socket queue */
  udpDropped: number;
  /** bytes held over all TCP connections, both directions */
  tcpBufferedBytes: number;
  /** frames on which a parser or handler threw (a bug: always 0 in tests) */
  internalErrors: number;
}

export class NatStack implements FrameSink {
  /** Partial checksums are not verified, and TCP super-segments are taken whole (FrameSink). */
  readonly takesOffloads = true;
  readonly cfg: NetConfig;
  readonly out: FrameOut;
  readonly tcp: TcpNat;
  readonly udp: UdpNat;
  private readonly arp = new ArpPacket();
  private readonly ip = new Ipv4Header();
  private readonly icmp = new IcmpHeader();
  private readonly udpH = new UdpHeader();
  private readonly tcpH = new TcpHeader();
  private readonly dhcp = new DhcpMessage();
  private readonly dnsH = new DnsHeader();
  private readonly mask: number;
  private readonly dnsUpstream: { host: string; port: number } | undefined;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly policy: OutboundPolicy;
  /** The last refusal was the policy's (to answer UDP with "administratively prohibited"). */
  private deniedByPolicy = false;
  refusedByPolicy = 0;
  framesIn = 0;
  dropped = 0;
  /** false while the frame being dispatched came with a checksum its transport vouched for */
  private verify = true;
  internalErrors = 0;

  constructor(port: FramePort, config: Partial<NetConfig> = {}) {
    this.cfg = defaultConfig(config);
    this.mask = netmask(this.cfg.prefixLength);
    this.policy = new OutboundPolicy(this.cfg.deny);
    this.out = new FrameOut(port, this.cfg.gatewayMac);
    const up = this.cfg.dnsUpstream;
    const ns = up ? undefined : hostNameserver();
    this.dnsUpstream = up
      ? { host: up.address, port: up.port }
      : ns
        ? { host: ns, port: DNS_PORT }
        : undefined;
    this.tcp = new TcpNat(this.out, this.cfg, (ip, port) => this.routeTcp(ip, port));
    this.udp = new UdpNat(this.out, this.cfg, (ip, port) => this.routeUdp(ip, port));
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** Starts the host forwards; rejects with a NetConfigError if a host port cannot be bound. */
  async start(): Promise<void> {
    for (const fwd of this.cfg.hostForwards) {
      try {
        if (fwd.protocol === 'tcp') await this.tcp.listen(fwd);
        else await this.udp.listen(fwd);
      } catch (e) {
        throw new NetConfigError(
          `cannot listen on ${fwd.protocol} ${fwd.hostAddress}:${fwd.hostPort} for a port forward (${(e as Error).message}): pick a free port`,
        );
      }
    }
  }

  stats(): NatStats {
    return {
      framesIn: this.framesIn,
      framesOut: this.out.frames,
      dropped: this.dropped,
      tcpConnections: this.tcp.all.size,
      udpFlows: this.udp.flowCount,
      refusedByCap: this.tcp.refused + this.udp.refused,
      refusedByPolicy: this.refusedByPolicy,
      udpDropped: this.udp.dropped,
      tcpBufferedBytes: this.tcp.bufferedBytes,
      internalErrors: this.internalErrors,
    };
  }

  close(): void {
    clearInterval(this.timer);
    this.tcp.close();
    this.udp.close();
  }

  flush(): void {
    this.tcp.flush();
  }

  private tick(): void {
    const now = performance.now();
    this.tcp.tick(now);
    this.udp.tick(now);
    this.tcp.flush();
  }

  /** Host-side address for a guest destination; null = refuse. */
  private hostFor(ip: number, port: number, proto: string): string | null {
    this.deniedByPolicy = false;
    const deny = this.cfg.deny;
    if (ip === this.cfg.gateway) {
      if (!this.cfg.hostLoopback) return null;
      if (deny.host) return this.refuse(ip, port, proto);
      return LOOPBACK;
    }
    if ((ip & this.mask) === (this.cfg.network & this.mask)) return null; // our own subnet
    if (ip >>> 24 === 127 || ip >>> 28 >= 14 || ip === 0) return null; // loopback, multicast, reserved
    if (this.policy.refuses(ip)) return this.refuse(ip, port, proto);
    return formatIpv4(ip);
  }

  private refuse(ip: number, port: number, proto: string): null {
    this.deniedByPolicy = true;
    this.refusedByPolicy++;
    this.cfg.log?.(
      'nat-deny',
      `NAT: refused the guest's ${proto} to ${formatIpv4(ip)}:${port} (outbound policy deny=${formatOutboundDeny(this.cfg.deny)})`,
    );
    return null;
  }

  private routeTcp(ip: number, port: number): string | null {
    return this.hostFor(ip, port, 'TCP');
  }

  private routeUdp(ip: number, port: number): { host: string; port: number } | null {
    if (ip === this.cfg.dns && port === DNS_PORT) return this.dnsUpstream ?? null;
    const host = this.hostFor(ip, port, 'UDP');
    return host === null ? null : { host, port };
  }

  input(frame: Uint8Array, length: number, checksumValid = false): void {
    this.framesIn++;
    this.verify = !checksumValid;
    try {
      if (!this.dispatch(frame, Math.min(length, frame.length))) this.dropped++;
    } catch {
      // a parser or host call threw on a frame we did not foresee: drop it, never crash
      this.dropped++;
      this.internalErrors++;
    }
  }

  private dispatch(frame: Uint8Array, len: number): boolean {
    const type = etherType(frame, len);
    if (type === ETHERTYPE_ARP) return this.onArp(frame, len);
    if (type !== ETHERTYPE_IPV4) return false;
    const ip = this.ip;
    if (!ip.parse(frame, ETH_HLEN, len - ETH_HLEN) || ip.fragment) return false;
    const off = ETH_HLEN + ip.headerLen;
    const plen = ip.totalLen - ip.headerLen;
    switch (ip.protocol) {
      case PROTO_TCP:
        if (!this.tcpH.parse(frame, off, plen, ip.src, ip.dst, this.verify)) return false;
        this.learnGuest(frame);
        this.tcp.input(this.tcpH, frame, ip.src, ip.dst);
        return true;
      case PROTO_UDP:
        return this.onUdp(frame, off, plen);
      case PROTO_ICMP:
        return this.onIcmp(frame, off, plen);
      default:
        return false;
    }
  }

  private learnGuest(frame: Uint8Array): void {
    const g = this.out.guestMac;
    if (
      g[0] !== frame[6] ||
      g[1] !== frame[7] ||
      g[2] !== frame[8] ||
      g[3] !== frame[9] ||
      g[4] !== frame[10] ||
      g[5] !== frame[11]
    ) {
      if ((frame[6]! & 1) === 0) g.set(frame.subarray(6, 12));
    }
  }

  private isOurs(ip: number): boolean {
    return ip === this.cfg.gateway || ip === this.cfg.dns;
  }

  private onArp(frame: Uint8Array, len: number): boolean {
    const a = this.arp;
    if (!a.parse(frame, ETH_HLEN, len - ETH_HLEN)) return false;
    if (a.op !== ARP_REQUEST || !this.isOurs(a.targetIp)) return true;
    if ((a.senderMac[0]! & 1) === 0) this.out.guestMac.set(a.senderMac);
    this.out.sendArp(ARP_REPLY, a.targetIp, a.senderMac, a.senderIp);
    return true;
  }

  private onIcmp(frame: Uint8Array, off: number, len: number): boolean {
    const ip = this.ip;
    if (!this.icmp.parse(frame, off, len)) return false;
    if (this.icmp.type !== ICMP_ECHO || !this.isOurs(ip.dst)) return true;
    if (len > this.cfg.mtu - 20) return false;
    this.learnGuest(frame);
    const src = ip.src;
    const dst = ip.dst;
    this.out.buf.set(frame.subarray(off, off + len), IP_PAYLOAD);
    this.out.sendIcmp(dst, src, ICMP_ECHO_REPLY, 0, len);
    return true;
  }

  private onUdp(frame: Uint8Array, off: number, len: number): boolean {
    const ip = this.ip;
    const u = this.udpH;
    if (!u.parse(frame, off, len, ip.src, ip.dst, this.verify)) return false;
    if (u.dstPort === DHCP_SERVER_PORT) return this.onDhcp(frame, u.dataOff, u.dataLen);
    if (ip.dst === 0xffffffff || (ip.dst | this.mask) >>> 0 === 0xffffffff) return true; // other broadcasts
    this.learnGuest(frame);
    if (
      ip.dst === this.cfg.dns &&
      u.dstPort === DNS_PORT &&
      !(this.dnsH.parse(frame, u.dataOff, u.dataLen) && this.dnsH.isQuery())
    )
      return false;
    this.deniedByPolicy = false;
    if (!this.udp.input(frame, u.dataOff, u.dataLen, ip.src, u.srcPort, ip.dst, u.dstPort))
      this.unreachable(frame, this.deniedByPolicy ? ICMP_ADMIN_PROHIBITED : ICMP_PORT_UNREACH);
    return true;
  }

  /** ICMP destination unreachable for the datagram in `frame` (RFC 792: its header + 8 bytes). */
  private unreachable(frame: Uint8Array, code: number): void {
    const ip = this.ip;
    const quote = Math.min(ip.totalLen, ip.headerLen + 8);
    const buf = this.out.buf;
    buf.fill(0, IP_PAYLOAD + 4, IP_PAYLOAD + 8);
    buf.set(frame.subarray(ETH_HLEN, ETH_HLEN + quote), IP_PAYLOAD + 8);
    this.out.sendIcmp(ip.dst, ip.src, ICMP_DEST_UNREACH, code, 8 + quote);
  }

  private onDhcp(frame: Uint8Array, off: number, len: number): boolean {
    const m = this.dhcp;
    if (!m.parse(frame, off, len)) return false;
    let reply = 0;
    if (m.messageType === DHCPDISCOVER) reply = DHCPOFFER;
    else if (m.messageType === DHCPREQUEST) {
      if (m.serverId !== 0 && m.serverId !== this.cfg.gateway) return true; // another server chosen
      const asked = m.requestedIp || m.ciaddr;
      reply = asked === 0 || asked === this.cfg.guest ? DHCPACK : DHCPNAK;
    } else return true;
    if ((m.chaddr[0]! & 1) === 0) this.out.guestMac.set(m.chaddr);
    const lease: DhcpLease = {
      yiaddr: this.cfg.guest,
      server: this.cfg.gateway,
      netmask: this.mask,
      router: this.cfg.gateway,
      dns: this.cfg.dns,
      leaseSeconds: this.cfg.dhcpLeaseSeconds,
      mtu: this.cfg.mtu,
    };
    const n = writeDhcpReply(this.out.buf, UDP_DATA, m, reply, lease);
    const bcast = reply === DHCPNAK || (m.flags & 0x8000) !== 0 || m.ciaddr === 0;
    this.out.sendUdp(
      this.cfg.gateway,
      bcast ? 0xffffffff : this.cfg.guest,
      DHCP_SERVER_PORT,
      DHCP_CLIENT_PORT,
      n,
      bcast && reply === DHCPNAK ? BROADCAST_MAC : this.out.guestMac,
    );
    return true;
  }
}
