// UDP header: RFC 768 (source port, destination port, length, checksum; checksum 0 = none).
import { checksum, pseudoHeaderSum } from './checksum';
import { readU16, writeU16 } from './addr';
import { PROTO_UDP } from './ipv4';

export const UDP_HLEN = 8;

export class UdpHeader {
  srcPort = 0;
  dstPort = 0;
  /** payload offset and length in the buffer */
  dataOff = 0;
  dataLen = 0;

  /** Parses the datagram at buf[off, off+len) sent from `src` to `dst`; false if malformed. */
  parse(buf: Uint8Array, off: number, len: number, src: number, dst: number, verify = true): boolean {
    if (len < UDP_HLEN || off < 0 || off + len > buf.length) return false;
    const ulen = readU16(buf, off + 4);
    if (ulen < UDP_HLEN || ulen > len) return false;
    if (
      verify &&
      readU16(buf, off + 6) !== 0 &&
      checksum(buf, off, ulen, pseudoHeaderSum(src, dst, PROTO_UDP, ulen)) !== 0
    )
      return false;
    this.srcPort = readU16(buf, off);
    this.dstPort = readU16(buf, off + 2);
    this.dataOff = off + UDP_HLEN;
    this.dataLen = ulen - UDP_HLEN;
    return true;
  }
}

/** Writes the header in front of a payload already at buf[off+8, off+8+dataLen) and checksums it. */
export function writeUdp(
  buf: Uint8Array,
  off: number,
  src: number,
  dst: number,
  srcPort: number,
  dstPort: number,
  dataLen: number,
): number {
  const ulen = UDP_HLEN + dataLen;
  writeU16(buf, off, srcPort);
  writeU16(buf, off + 2, dstPort);
  writeU16(buf, off + 4, ulen);
  writeU16(buf, off + 6, 0);
  const c = checksum(buf, off, ulen, pseudoHeaderSum(src, dst, PROTO_UDP, ulen));
  writeU16(buf, off + 6, c === 0 ? 0xffff : c);
  return ulen;
}
