// KVM's binary statistics (Documentation/virt/kvm/api.rst, 4.133 KVM_GET_STATS_FD; struct
// kvm_stats_header and struct kvm_stats_desc in <linux/kvm.h>): a file with a header, the VM's or
// vCPU's id string, one descriptor per statistic (fixed part, then a name of header.name_size bytes,
// NUL-padded) and a data block of u64s; a descriptor's `offset` is its first u64's place in the
// data block and `size` how many it has (1 for a counter, the buckets of a histogram).
import type { StructLayout } from './layout';

export const STATS_HEADER_SIZE = 24;
export const STATS_HEADER_LAYOUT: StructLayout = {
  cName: 'struct kvm_stats_header',
  size: STATS_HEADER_SIZE,
  fields: { flags: 0, name_size: 4, num_desc: 8, id_offset: 12, desc_offset: 16, data_offset: 20 },
};

/** The descriptor's fixed part; its name follows. */
export const STATS_DESC_SIZE = 16;
export const STATS_DESC_LAYOUT: StructLayout = {
  cName: 'struct kvm_stats_desc',
  size: STATS_DESC_SIZE,
  fields: { flags: 0, exponent: 4, size: 6, offset: 8, bucket_size: 12, name: 16 },
};

export interface StatsHeader {
  nameSize: number;
  numDesc: number;
  descOffset: number;
  dataOffset: number;
}

export interface StatsDesc {
  name: string;
  /** KVM_STATS_TYPE_* (low 4 bits of flags): 0 cumulative, 1 instant, 2 peak, 3-4 histograms. */
  type: number;
  /** u64s of the statistic. */
  size: number;
  /** Bytes from the data block's start. */
  offset: number;
}

export function readStatsHeader(buf: Uint8Array): StatsHeader {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    nameSize: v.getUint32(4, true),
    numDesc: v.getUint32(8, true),
    descOffset: v.getUint32(16, true),
    dataOffset: v.getUint32(20, true),
  };
}

/** The `count` descriptors in `buf` (each STATS_DESC_SIZE + nameSize bytes), as far as they fit. */
export function readStatsDescs(buf: Uint8Array, count: number, nameSize: number): StatsDesc[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const step = STATS_DESC_SIZE + nameSize;
  const out: StatsDesc[] = [];
  for (let i = 0; i < count && (i + 1) * step <= buf.byteLength; i++) {
    const at = i * step;
    const name = buf.subarray(at + STATS_DESC_SIZE, at + step);
    const end = name.indexOf(0);
    out.push({
      name: Buffer.from(name.subarray(0, end < 0 ? name.length : end)).toString('latin1'),
      type: v.getUint32(at, true) & 0xf,
      size: v.getUint16(at + 6, true),
      offset: v.getUint32(at + 8, true),
    });
  }
  return out;
}
