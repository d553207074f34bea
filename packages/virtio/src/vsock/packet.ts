// struct virtio_vsock_hdr (virtio 1.2 §5.10.6) in and out of its 44 bytes: the one place its
// layout (layout.ts) is read and written. A PacketHeader is made once and reused for every packet.
import * as L from './layout';

export class PacketHeader {
  /** The 64-bit CIDs as two 32-bit halves (a guest may put anything in the high half). */
  srcCidLo = 0;
  srcCidHi = 0;
  dstCidLo = 0;
  dstCidHi = 0;
  srcPort = 0;
  dstPort = 0;
  len = 0;
  type = 0;
  op = 0;
  flags = 0;
  bufAlloc = 0;
  fwdCnt = 0;

  /** The header's wire form: decode() reads it, encode() fills it. */
  readonly bytes = new Uint8Array(L.HDR_SIZE);
  private readonly view = new DataView(this.bytes.buffer);

  /** Fill the fields from `bytes`. */
  decode(): this {
    const v = this.view;
    this.srcCidLo = v.getUint32(L.HDR_SRC_CID, true);
    this.srcCidHi = v.getUint32(L.HDR_SRC_CID + 4, true);
    this.dstCidLo = v.getUint32(L.HDR_DST_CID, true);
    this.dstCidHi = v.getUint32(L.HDR_DST_CID + 4, true);
    this.srcPort = v.getUint32(L.HDR_SRC_PORT, true);
    this.dstPort = v.getUint32(L.HDR_DST_PORT, true);
    this.len = v.getUint32(L.HDR_LEN, true);
    this.type = v.getUint16(L.HDR_TYPE, true);
    this.op = v.getUint16(L.HDR_OP, true);
    this.flags = v.getUint32(L.HDR_FLAGS, true);
    this.bufAlloc = v.getUint32(L.HDR_BUF_ALLOC, true);
    this.fwdCnt = v.getUint32(L.HDR_FWD_CNT, true);
    return this;
  }

  /** Write the fields into `bytes` (numbers are taken modulo their field's width). */
  encode(): Uint8Array {
    const v = this.view;
    v.setUint32(L.HDR_SRC_CID, this.srcCidLo >>> 0, true);
    v.setUint32(L.HDR_SRC_CID + 4, this.srcCidHi >>> 0, true);
    v.setUint32(L.HDR_DST_CID, this.dstCidLo >>> 0, true);
    v.setUint32(L.HDR_DST_CID + 4, this.dstCidHi >>> 0, true);
    v.setUint32(L.HDR_SRC_PORT, this.srcPort >>> 0, true);
    v.setUint32(L.HDR_DST_PORT, this.dstPort >>> 0, true);
    v.setUint32(L.HDR_LEN, this.len >>> 0, true);
    v.setUint16(L.HDR_TYPE, this.type & 0xffff, true);
    v.setUint16(L.HDR_OP, this.op & 0xffff, true);
    v.setUint32(L.HDR_FLAGS, this.flags >>> 0, true);
    v.setUint32(L.HDR_BUF_ALLOC, this.bufAlloc >>> 0, true);
    v.setUint32(L.HDR_FWD_CNT, this.fwdCnt >>> 0, true);
    return this.bytes;
  }

  /** Set every field of a stream packet at once (CIDs below 2^32). */
  set(
    srcCid: number,
    srcPort: number,
    dstCid: number,
    dstPort: number,
    op: number,
    len = 0,
    flags = 0,
    bufAlloc = 0,
    fwdCnt = 0,
  ): this {
    this.srcCidLo = srcCid >>> 0;
    this.srcCidHi = 0;
    this.dstCidLo = dstCid >>> 0;
    this.dstCidHi = 0;
    this.srcPort = srcPort >>> 0;
    this.dstPort = dstPort >>> 0;
    this.len = len >>> 0;
    this.type = L.VIRTIO_VSOCK_TYPE_STREAM;
    this.op = op;
    this.flags = flags >>> 0;
    this.bufAlloc = bufAlloc >>> 0;
    this.fwdCnt = fwdCnt >>> 0;
    return this;
  }
}
