// Where the guest may not go: the outbound policy a sandbox sets (`deny=host+linklocal+10.0.0.0/8`).
// slirp4netns and QEMU's user network refuse only the host's loopback (--disable-host-loopback,
// restrict=on refuses everything); a guest otherwise reaches every service the host listens on
// through the host's own addresses, and a cloud's metadata service at 169.254.169.254. Here:
//   host       every address of the host's own interfaces (re-read every few seconds: DHCP, VPNs),
//              and the gateway's mapping to the host's 127.0.0.1 (host_loopback)
//   linklocal  169.254.0.0/16 (RFC 3927), the metadata services' range
//   A.B.C.D/N  any IPv4 network
// A refused TCP connection gets a RST, a refused UDP datagram ICMP "administratively prohibited"
// (RFC 1812 §5.2.7.1), as a filtering router answers. The NAT's own DNS forwarder is not subject
// to it (the guest asks 10.0.2.3; where that goes is the host's configuration).
import os from 'node:os';
import { parseIpv4 } from './addr';
import { NetConfigError } from './errors';

export interface OutboundDeny {
  host: boolean;
  linkLocal: boolean;
  networks: { network: number; prefixLength: number }[];
}

export const ALLOW_ALL: OutboundDeny = { host: false, linkLocal: false, networks: [] };

const LINK_LOCAL = parseIpv4('169.254.0.0');
/** How long the host's own addresses are reused before they are read again. */
const HOST_ADDRESSES_TTL_MS = 5_000;

/** `host+linklocal+10.0.0.0/8`: the items of a deny rule, joined by '+'. */
export function parseOutboundDeny(text: string): OutboundDeny {
  const deny: OutboundDeny = { host: false, linkLocal: false, networks: [] };
  for (const item of text.split('+')) {
    const t = item.trim();
    if (t === 'host') deny.host = true;
    else if (t === 'linklocal') deny.linkLocal = true;
    else {
      const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(t);
      if (!m || Number(m[2]) > 32)
        throw new NetConfigError(
          `deny: '${t}' is not host, linklocal or an IPv4 network like 10.0.0.0/8 (join items with +)`,
        );
      const prefixLength = Number(m[2]);
      deny.networks.push({ network: (parseIpv4(m[1]!) & mask(prefixLength)) >>> 0, prefixLength });
    }
  }
  return deny;
}

/** The text form of a deny rule (for messages). */
export function formatOutboundDeny(d: OutboundDeny): string {
  const items = [
    ...(d.host ? ['host'] : []),
    ...(d.linkLocal ? ['linklocal'] : []),
    ...d.networks.map((n) => `${ipText(n.network)}/${n.prefixLength}`),
  ];
  return items.join('+') || 'nothing';
}

export class OutboundPolicy {
  private hostAddresses = new Set<number>();
  private readAt = -Infinity;

  constructor(
    readonly deny: OutboundDeny,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether the guest may not reach `ip` (a host-order IPv4 address). */
  refuses(ip: number): boolean {
    const d = this.deny;
    if (d.linkLocal && (ip & mask(16)) >>> 0 === LINK_LOCAL) return true;
    for (const n of d.networks) if ((ip & mask(n.prefixLength)) >>> 0 === n.network) return true;
    return d.host && this.isHostAddress(ip);
  }

  private isHostAddress(ip: number): boolean {
    const t = this.now();
    if (t - this.readAt > HOST_ADDRESSES_TTL_MS) {
      this.readAt = t;
      const set = new Set<number>();
      for (const list of Object.values(os.networkInterfaces())) {
        for (const a of list ?? []) if (a.family === 'IPv4') set.add(parseIpv4(a.address));
      }
      this.hostAddresses = set;
    }
    return this.hostAddresses.has(ip);
  }
}

function mask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

function ipText(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}
