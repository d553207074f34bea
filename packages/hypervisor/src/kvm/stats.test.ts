import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { openKvmStats, readStatsFile } from './stats';
import { readStatsDescs, readStatsHeader, STATS_DESC_SIZE, STATS_HEADER_SIZE } from './structs/stats';

/** A KVM stats file as the kernel lays it out: header, id, descriptors, data. */
function statsFile(stats: { name: string; flags: number; values: bigint[] }[], nameSize = 48): Buffer {
  const idOffset = STATS_HEADER_SIZE;
  const descOffset = idOffset + nameSize;
  const dataOffset = descOffset + stats.length * (STATS_DESC_SIZE + nameSize);
  const dataSize = stats.reduce((n, s) => n + s.values.length * 8, 0);
  const b = Buffer.alloc(dataOffset + dataSize);
  b.writeUInt32LE(nameSize, 4);
  b.writeUInt32LE(stats.length, 8);
  b.writeUInt32LE(idOffset, 12);
  b.writeUInt32LE(descOffset, 16);
  b.writeUInt32LE(dataOffset, 20);
  b.write('kvm-1234/vcpu-0', idOffset, 'latin1');
  let data = 0;
  stats.forEach((s, i) => {
    const at = descOffset + i * (STATS_DESC_SIZE + nameSize);
    b.writeUInt32LE(s.flags, at);
    b.writeUInt16LE(s.values.length, at + 6);
    b.writeUInt32LE(data, at + 8);
    b.write(s.name, at + STATS_DESC_SIZE, 'latin1');
    for (const v of s.values) {
      b.writeBigUInt64LE(v, dataOffset + data);
      data += 8;
    }
  });
  return b;
}

describe('KVM binary statistics (KVM_GET_STATS_FD)', () => {
  it('reads the header and each descriptor: name, type, size, offset into the data block', () => {
    const file = statsFile([
      { name: 'exits', flags: 0x0, values: [1234n] },
      { name: 'halt_poll_success_hist', flags: 0x4 | 0x20, values: [1n, 2n, 3n] },
      { name: 'pages_4k', flags: 0x1, values: [77n] },
    ]);
    const h = readStatsHeader(file.subarray(0, STATS_HEADER_SIZE));
    expect(h).toEqual({ nameSize: 48, numDesc: 3, descOffset: 24 + 48, dataOffset: 24 + 48 + 3 * 64 });
    const descs = readStatsDescs(file.subarray(h.descOffset, h.dataOffset), h.numDesc, h.nameSize);
    expect(descs).toEqual([
      { name: 'exits', type: 0, size: 1, offset: 0 },
      { name: 'halt_poll_success_hist', type: 4, size: 3, offset: 8 },
      { name: 'pages_4k', type: 1, size: 1, offset: 32 },
    ]);
    // A block cut short gives the descriptors that fit, never a read past it.
    expect(readStatsDescs(file.subarray(h.descOffset, h.descOffset + 100), 3, 48)).toHaveLength(1);
  });

  it('gives each single-u64 statistic by name, histograms left out; a file that makes no sense gives none', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-kvm-stats-'));
    const read = (bytes: Buffer) => {
      const file = path.join(dir, 'stats');
      fs.writeFileSync(file, bytes);
      const fd = fs.openSync(file, 'r');
      try {
        return readStatsFile(fd);
      } finally {
        fs.closeSync(fd);
      }
    };
    try {
      const good = statsFile([
        { name: 'exits', flags: 0x0, values: [2n ** 40n + 5n] },
        { name: 'halt_poll_success_hist', flags: 0x4, values: [1n, 2n, 3n] },
        { name: 'pages_4k', flags: 0x1, values: [77n] },
      ]);
      expect(read(good)).toEqual({ exits: 2 ** 40 + 5, pages_4k: 77 });
      expect(read(good.subarray(0, good.length - 8))).toEqual({ exits: 2 ** 40 + 5 }); // data cut short
      const huge = Buffer.from(good);
      huge.writeUInt32LE(1 << 20, 8); // a million descriptors: not KVM's
      expect(read(huge)).toBeUndefined();
      expect(read(Buffer.alloc(3))).toBeUndefined(); // not even a header
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('an fd that is not a VM or vCPU has no statistics file, and that is not an error', () => {
    const fd = fs.openSync('/dev/null', 'r');
    try {
      expect(openKvmStats(fd)).toBe(-1);
    } finally {
      fs.closeSync(fd);
    }
  });
});
