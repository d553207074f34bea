// The NAT's configuration. Defaults are those of QEMU's user network (slirp): network 10.0.2.0/24,
// gateway 10.0.2.2, DNS 10.0.2.3, guest 10.0.2.15, MTU 1500.
import { parseIpv4 } from './addr';
import { NetConfigError } from './errors';
import { ALLOW_ALL, type OutboundDeny } from './policy';

export interface HostForward {
  protocol: 'tcp' | 'udp';
  hostAddress: string;
  hostPort: number;
  /** guest address; 0 = the configured guest address */
  guestAddress: number;
  guestPort: number;
}

export interface NetConfig {
  network: number;
  prefixLength: number;
  gateway: number;
  dns: number;
  guest: number;
  gatewayMac: Uint8Array;
  mtu: number;
  /** reach the host's 127.0.0.1 at the gateway address (QEMU's host_loopback / restrict=off) */
  hostLoopback: boolean;
  hostForwards: HostForward[];
  /** upstream DNS server; undefined = the first nameserver of /etc/resolv.conf */
  dnsUpstream?: { address: string; port: number };
  /** per-connection buffer bound in each direction (bytes) */
  tcpBuffer: number;
  udpIdleMs: number;
  dhcpLeaseSeconds: number;
  /** TCP connections at once (guest-opened and host-forwarded); a guest SYN beyond gets a RST */
  maxTcpConnections: number;
  /** UDP flows at once; a datagram that would open one more gets ICMP port unreachable */
  maxUdpFlows: number;
  /** a connection not established within this is reset (a SYN never holds a host socket for long) */
  tcpHandshakeMs: number;
  /** a connection whose guest keeps its window at 0 this long is reset */
  tcpZeroWindowMs: number;
  /** bytes buffered over all connections (host data the guest has not acknowledged, guest data
   * the host has not taken); at the bound host sockets pause and the windows offered close */
  maxBufferedBytes: number;
  /** datagrams waiting in one UDP flow's host socket; more are dropped, as a router drops */
  udpQueueDatagrams: number;
  /** destinations refused to the guest (policy.ts); default none beyond the built-in rules */
  deny: OutboundDeny;
  /** one line per event a user should see (a flow refused by a cap or the policy); rate-limited by the caller */
  log?: (kind: string, line: string) => void;
}

export const MIN_MTU = 576;
export const MAX_MTU = 65520;

export function defaultConfig(overrides: Partial<NetConfig> = {}): NetConfig {
  const cfg: NetConfig = {
    network: parseIpv4('10.0.2.0'),
    prefixLength: 24,
    gateway: parseIpv4('10.0.2.2'),
    dns: parseIpv4('10.0.2.3'),
    guest: parseIpv4('10.0.2.15'),
    gatewayMac: new Uint8Array([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]),
    mtu: 1500,
    hostLoopback: false,
    hostForwards: [],
    tcpBuffer: 1 << 20,
    udpIdleMs: 60_000,
    dhcpLeaseSeconds: 86_400,
    maxTcpConnections: 1024,
    maxUdpFlows: 256,
    tcpHandshakeMs: 20_000,
    tcpZeroWindowMs: 120_000,
    maxBufferedBytes: 64 << 20,
    udpQueueDatagrams: 256,
    deny: ALLOW_ALL,
    ...overrides,
  };
  for (const k of [
    'maxTcpConnections',
    'maxUdpFlows',
    'tcpHandshakeMs',
    'tcpZeroWindowMs',
    'maxBufferedBytes',
    'udpQueueDatagrams',
  ] as const) {
    if (!Number.isSafeInteger(cfg[k]) || cfg[k] <= 0)
      throw new NetConfigError(`${k} ${cfg[k]} must be a positive whole number`);
  }
  if (!Number.isInteger(cfg.mtu) || cfg.mtu < MIN_MTU || cfg.mtu > MAX_MTU) {
    throw new NetConfigError(`MTU ${cfg.mtu} is out of range: use ${MIN_MTU} to ${MAX_MTU}`);
  }
  return cfg;
}

export function netmask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** Parses `tcp:127.0.0.1:8022-:22` / `udp::5353-10.0.2.15:53` (QEMU's hostfwd syntax). */
export function parseHostForward(text: string): HostForward {
  const m = /^(tcp|udp):([^:]*):(\d+)-([^:]*):(\d+)$/.exec(text.trim());
  const bad = () =>
    new NetConfigError(
      `bad port forward '${text}': write PROTO:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, like tcp:127.0.0.1:8022-:22`,
    );
  if (!m) throw bad();
  const hostPort = Number(m[3]);
  const guestPort = Number(m[5]);
  if (hostPort > 65535 || guestPort < 1 || guestPort > 65535) throw bad();
  return {
    protocol: m[1] as 'tcp' | 'udp',
    hostAddress: m[2] || '127.0.0.1',
    hostPort,
    guestAddress: m[4] ? parseIpv4(m[4]) : 0,
    guestPort,
  };
}

/** Parses `IP:PORT` (or `IP`, port 53) for the DNS upstream. */
export function parseDnsUpstream(text: string): { address: string; port: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(text.trim());
  const port = m?.[2] ? Number(m[2]) : 53;
  if (!m || port < 1 || port > 65535)
    throw new NetConfigError(`bad DNS server '${text}': write IP:PORT, like 127.0.0.1:5353`);
  parseIpv4(m[1]!);
  return { address: m[1]!, port };
}
