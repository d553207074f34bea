// KVM's own counters of a VM or a vCPU (exits, halts, page faults, ...), read through the file
// KVM_GET_STATS_FD gives: header, descriptors, then the values (structs/stats.ts). A vCPU's file
// must be opened before its first KVM_RUN: the ioctl takes the vCPU's mutex, which KVM_RUN holds
// while the guest runs or halts (it would block the caller until the vCPU next exits). Reading
// the file takes no lock. Read rarely (vm.counters), never on a hot path.
import fs from 'node:fs';
import { libc } from '../sys/libc';
import { KVM_GET_STATS_FD } from './constants';
import { readStatsDescs, readStatsHeader, STATS_DESC_SIZE, STATS_HEADER_SIZE } from './structs/stats';

/** Statistics KVM keeps as one u64 (not histograms): at most this many are read. */
const MAX_DESCS = 1024;
/** A name longer than this is not a KVM statistic's (the kernel uses 48 bytes). */
const MAX_NAME_SIZE = 256;
/** Bytes of values read at most (KVM's vCPU block is a few hundred). */
const MAX_DATA = 1 << 20;

/**
 * The statistics file of the VM or vCPU `fd` (a vCPU's: before it first runs), or -1 where the
 * kernel has none (before Linux 5.14). The caller closes it.
 */
export function openKvmStats(fd: number): number {
  const statsFd = libc().ioctlInt(fd, KVM_GET_STATS_FD, 0);
  return statsFd < 0 ? -1 : statsFd;
}

/**
 * The counters of a KVM statistics file (openKvmStats), by KVM's names (e.g. exits, halt_exits,
 * pf_fixed), each a single u64 as a number; histograms are left out. Undefined for a file this
 * reader does not understand.
 */
export function readStatsFile(statsFd: number): Record<string, number> | undefined {
  try {
    const headerBytes = readAt(statsFd, 0, STATS_HEADER_SIZE);
    if (headerBytes.length < STATS_HEADER_SIZE) return undefined;
    const header = readStatsHeader(headerBytes);
    if (header.nameSize > MAX_NAME_SIZE || header.numDesc > MAX_DESCS) return undefined;
    const descBytes = readAt(
      statsFd,
      header.descOffset,
      header.numDesc * (STATS_DESC_SIZE + header.nameSize),
    );
    const descs = readStatsDescs(descBytes, header.numDesc, header.nameSize);
    const dataSize = descs.reduce((n, d) => Math.max(n, d.offset + d.size * 8), 0);
    if (dataSize > MAX_DATA) return undefined;
    const data = readAt(statsFd, header.dataOffset, dataSize);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const out: Record<string, number> = {};
    for (const d of descs) {
      if (d.size !== 1 || d.type > 2 || d.offset + 8 > data.byteLength) continue;
      out[d.name] = Number(view.getBigUint64(d.offset, true));
    }
    return out;
  } catch {
    return undefined;
  }
}

/** `len` bytes of `fd` from `offset` (pread), as many as the file has. */
function readAt(fd: number, offset: number, len: number): Uint8Array {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}
