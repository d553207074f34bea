// ICMP: RFC 792. Echo (type 8) / echo reply (type 0), and destination unreachable (type 3), which
// carries the offending IP header plus the first 8 bytes of its payload.
import { checksum } from './checksum';
import { writeU16 } from './addr';

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO = 8;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_HOST_UNREACH = 1;
/** Destination unreachable, "communication administratively prohibited" (RFC 1812 §5.2.7.1). */
export const ICMP_ADMIN_PROHIBITED = 13;
export const ICMP_HLEN = 8;

export class IcmpHeader {
  type = 0;
  code = 0;

  /** Parses buf[off, off+len): false if shorter than the 8-byte header or the checksum is wrong. */
  parse(buf: Uint8Array, off: number, len: number): boolean {
    if (len < ICMP_HLEN || off < 0 || off + len > buf.length) return false;
    if (checksum(buf, off, len) !== 0) return false;
    this.type = buf[off]!;
    this.code = buf[off + 1]!;
    return true;
  }
}

/** Fills in type, code and checksum of an ICMP message already laid out at buf[off, off+len). */
export function finishIcmp(buf: Uint8Array, off: number, len: number, type: number, code: number): void {
  buf[off] = type;
  buf[off + 1] = code;
  writeU16(buf, off + 2, 0);
  writeU16(buf, off + 2, checksum(buf, off, len));
}
