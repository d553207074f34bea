// DNS message header: RFC 1035 §4.1.1 (ID, flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT; 12 bytes).
// The forwarder checks only that a guest datagram is a query before relaying it unchanged.
import { readU16 } from './addr';

export const DNS_HLEN = 12;
export const DNS_PORT = 53;

export class DnsHeader {
  id = 0;
  qr = false;
  opcode = 0;
  qdcount = 0;

  parse(buf: Uint8Array, off: number, len: number): boolean {
    if (len < DNS_HLEN || off < 0 || off + len > buf.length) return false;
    this.id = readU16(buf, off);
    this.qr = (buf[off + 2]! & 0x80) !== 0;
    this.opcode = (buf[off + 2]! >>> 3) & 15;
    this.qdcount = readU16(buf, off + 4);
    return true;
  }

  /** A standard query with at least one question. */
  isQuery(): boolean {
    return !this.qr && this.opcode === 0 && this.qdcount > 0;
  }
}
