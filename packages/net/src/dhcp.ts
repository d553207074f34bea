// DHCP server side: RFC 2131 §4.3 (DISCOVER -> OFFER, REQUEST -> ACK/NAK), message layout RFC 2131
// §2 (236-byte fixed part + magic cookie 99.130.83.99), options RFC 2132. One guest, one address.
import { readIpv4, readU32, writeIpv4, writeU16, writeU32 } from './addr';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
const FIXED_LEN = 236;
const MAGIC = 0x63825363;

export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;

export class DhcpMessage {
  op = 0;
  xid = 0;
  flags = 0;
  ciaddr = 0;
  readonly chaddr = new Uint8Array(6);
  messageType = 0;
  /** option 50, 0 when absent */
  requestedIp = 0;
  /** option 54, 0 when absent */
  serverId = 0;

  /** Parses a BOOTREQUEST at buf[off, off+len); false if malformed or not Ethernet. */
  parse(buf: Uint8Array, off: number, len: number): boolean {
    if (len < FIXED_LEN + 4 || off < 0 || off + len > buf.length) return false;
    if (buf[off] !== 1 || buf[off + 1] !== 1 || buf[off + 2] !== 6) return false;
    if (readU32(buf, off + FIXED_LEN) !== MAGIC) return false;
    this.op = buf[off]!;
    this.xid = readU32(buf, off + 4);
    this.flags = (buf[off + 10]! << 8) | buf[off + 11]!;
    this.ciaddr = readIpv4(buf, off + 12);
    this.chaddr.set(buf.subarray(off + 28, off + 34));
    this.messageType = 0;
    this.requestedIp = 0;
    this.serverId = 0;
    let i = off + FIXED_LEN + 4;
    const end = off + len;
    while (i < end) {
      const code = buf[i]!;
      if (code === 255) break;
      if (code === 0) {
        i++;
        continue;
      }
      if (i + 1 >= end) return false;
      const olen = buf[i + 1]!;
      if (i + 2 + olen > end) return false;
      if (code === 53 && olen === 1) this.messageType = buf[i + 2]!;
      else if (code === 50 && olen === 4) this.requestedIp = readIpv4(buf, i + 2);
      else if (code === 54 && olen === 4) this.serverId = readIpv4(buf, i + 2);
      i += 2 + olen;
    }
    return this.messageType !== 0;
  }
}

export interface DhcpLease {
  yiaddr: number;
  server: number;
  netmask: number;
  router: number;
  dns: number;
  leaseSeconds: number;
  mtu: number;
}

/** Writes a BOOTREPLY answering `req` at buf[off]; returns its length (300 bytes at least, as BOOTP). */
export function writeDhcpReply(
  buf: Uint8Array,
  off: number,
  req: DhcpMessage,
  type: number,
  lease: DhcpLease,
): number {
  buf.fill(0, off, off + 300);
  buf[off] = 2;
  buf[off + 1] = 1;
  buf[off + 2] = 6;
  writeU32(buf, off + 4, req.xid);
  writeU16(buf, off + 10, req.flags);
  if (type !== DHCPNAK) writeIpv4(buf, off + 16, lease.yiaddr);
  writeIpv4(buf, off + 20, lease.server);
  buf.set(req.chaddr, off + 28);
  writeU32(buf, off + FIXED_LEN, MAGIC);
  let i = off + FIXED_LEN + 4;
  const opt = (code: number, value: number, bytes: number) => {
    buf[i] = code;
    buf[i + 1] = bytes;
    if (bytes === 1) buf[i + 2] = value;
    else if (bytes === 2) writeU16(buf, i + 2, value);
    else writeU32(buf, i + 2, value);
    i += 2 + bytes;
  };
  opt(53, type, 1);
  opt(54, lease.server, 4);
  if (type !== DHCPNAK) {
    opt(51, lease.leaseSeconds, 4);
    opt(58, Math.floor(lease.leaseSeconds / 2), 4);
    opt(59, Math.floor((lease.leaseSeconds * 7) / 8), 4);
    opt(1, lease.netmask, 4);
    opt(3, lease.router, 4);
    opt(6, lease.dns, 4);
    opt(26, lease.mtu, 2);
  }
  buf[i++] = 255;
  return Math.max(300, i - off);
}
