// TCP header and options: RFC 9293 §3.1 (header), §3.2 (options: End, NOP, MSS kind 2), RFC 7323
// §2 (window scale, kind 3). SACK-permitted and timestamps are parsed past and never offered.
import { checksum, pseudoHeaderSum } from '../checksum';
import { readU16, readU32, writeU16, writeU32 } from '../addr';
import { PROTO_TCP } from '../ipv4';

export const TCP_HLEN = 20;
/** Offset of the checksum field (§3.1). */
export const TCP_CHECK_OFFSET = 16;
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

export class TcpHeader {
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  /** MSS option, 0 when absent */
  mss = 0;
  /** window scale option, -1 when absent (RFC 7323: capped at 14) */
  wscale = -1;
  dataOff = 0;
  dataLen = 0;

  /** Parses the segment at buf[off, off+len) from `src` to `dst`; false if malformed or corrupt. */
  parse(buf: Uint8Array, off: number, len: number, src: number, dst: number, verify = true): boolean {
    if (len < TCP_HLEN || off < 0 || off + len > buf.length) return false;
    const hl = tcpHeaderLength(buf, off);
    if (hl < TCP_HLEN || hl > len) return false;
    if (verify && checksum(buf, off, len, pseudoHeaderSum(src, dst, PROTO_TCP, len)) !== 0) return false;
    this.srcPort = readU16(buf, off);
    this.dstPort = readU16(buf, off + 2);
    this.seq = readU32(buf, off + 4);
    this.ack = readU32(buf, off + 8);
    this.flags = buf[off + 13]! & 0x3f;
    this.window = readU16(buf, off + 14);
    this.mss = 0;
    this.wscale = -1;
    let i = off + TCP_HLEN;
    const end = off + hl;
    while (i < end) {
      const kind = buf[i]!;
      if (kind === 0) break;
      if (kind === 1) {
        i++;
        continue;
      }
      if (i + 1 >= end) break;
      const olen = buf[i + 1]!;
      if (olen < 2 || i + olen > end) break;
      if (kind === 2 && olen === 4) this.mss = readU16(buf, i + 2);
      else if (kind === 3 && olen === 3) this.wscale = Math.min(buf[i + 2]!, 14);
      i += olen;
    }
    this.dataOff = off + hl;
    this.dataLen = len - hl;
    return true;
  }
}

/**
 * Writes a header at buf[off]; with `synOptions` it carries MSS and (if wscale >= 0) window scale.
 * The payload must already be at buf[off + header length]. Returns the header length.
 */
export function writeTcpHeader(
  buf: Uint8Array,
  off: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  mss: number,
  wscale: number,
): number {
  let hl = TCP_HLEN;
  if (mss > 0) {
    buf[off + 20] = 2;
    buf[off + 21] = 4;
    writeU16(buf, off + 22, mss);
    hl += 4;
    if (wscale >= 0) {
      buf[off + 24] = 1;
      buf[off + 25] = 3;
      buf[off + 26] = 3;
      buf[off + 27] = wscale;
      hl += 4;
    }
  }
  writeU16(buf, off, srcPort);
  writeU16(buf, off + 2, dstPort);
  writeU32(buf, off + 4, seq >>> 0);
  writeU32(buf, off + 8, ack >>> 0);
  buf[off + 12] = (hl / 4) << 4;
  buf[off + 13] = flags;
  writeU16(buf, off + 14, window);
  writeU16(buf, off + TCP_CHECK_OFFSET, 0);
  writeU16(buf, off + 18, 0);
  return hl;
}

/** Computes and stores the checksum of the segment at buf[off, off+len). */
export function finishTcp(buf: Uint8Array, off: number, len: number, src: number, dst: number): void {
  writeU16(buf, off + TCP_CHECK_OFFSET, 0);
  writeU16(buf, off + TCP_CHECK_OFFSET, checksum(buf, off, len, pseudoHeaderSum(src, dst, PROTO_TCP, len)));
}

/**
 * Stores only the folded pseudo-header sum, not complemented: what a partially checksummed
 * segment carries (CHECKSUM_PARTIAL; virtio 1.2 §5.1.6.2) for the port to complete.
 */
export function partialTcp(buf: Uint8Array, off: number, len: number, src: number, dst: number): void {
  writeU16(
    buf,
    off + TCP_CHECK_OFFSET,
    ~checksum(buf, 0, 0, pseudoHeaderSum(src, dst, PROTO_TCP, len)) & 0xffff,
  );
}

/** Bytes of the header at `off`: its data offset field (§3.1) × 4. */
export function tcpHeaderLength(buf: Uint8Array, off: number): number {
  return (buf[off + 12]! >>> 4) * 4;
}

/** Sequence-number comparison modulo 2^32 (RFC 9293 §3.4). */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}
