// ARP for IPv4 over Ethernet: RFC 826 (htype 1, ptype 0x0800, hlen 6, plen 4, 28 bytes).
import { readIpv4, readU16, writeIpv4, writeU16 } from './addr';

export const ARP_LEN = 28;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

export class ArpPacket {
  op = 0;
  readonly senderMac = new Uint8Array(6);
  senderIp = 0;
  readonly targetMac = new Uint8Array(6);
  targetIp = 0;

  /** Parses buf[off, off+len); false (and nothing read) if it is not Ethernet/IPv4 ARP. */
  parse(buf: Uint8Array, off: number, len: number): boolean {
    if (len < ARP_LEN || off < 0 || off + ARP_LEN > buf.length) return false;
    if (readU16(buf, off) !== 1 || readU16(buf, off + 2) !== 0x0800) return false;
    if (buf[off + 4] !== 6 || buf[off + 5] !== 4) return false;
    this.op = readU16(buf, off + 6);
    this.senderMac.set(buf.subarray(off + 8, off + 14));
    this.senderIp = readIpv4(buf, off + 14);
    this.targetMac.set(buf.subarray(off + 18, off + 24));
    this.targetIp = readIpv4(buf, off + 24);
    return this.op === ARP_REQUEST || this.op === ARP_REPLY;
  }
}

export function writeArp(
  buf: Uint8Array,
  off: number,
  op: number,
  senderMac: Uint8Array,
  senderIp: number,
  targetMac: Uint8Array,
  targetIp: number,
): number {
  writeU16(buf, off, 1);
  writeU16(buf, off + 2, 0x0800);
  buf[off + 4] = 6;
  buf[off + 5] = 4;
  writeU16(buf, off + 6, op);
  buf.set(senderMac, off + 8);
  writeIpv4(buf, off + 14, senderIp);
  buf.set(targetMac, off + 18);
  writeIpv4(buf, off + 24, targetIp);
  return ARP_LEN;
}
