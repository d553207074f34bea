// Guest RAM as a snapshot file: the layout's ranges one after another (the offsets a memfd or a
// copy-on-write mapping of this file uses), with the pages that are all zero left as holes, so the
// file takes the space of what the guest touched. Its checksum is over content, not extents (a
// copy that fills or punches holes differently still matches): the CRC-32 of the whole image, holes
// as zeros (image-crc.ts), which a restore checks reading only the data extents.
import fs from 'node:fs';
import { VmmError } from '../errors';
import type { GuestMemory, TouchedRange } from '../types';
import { fileDataExtents } from './extents';
import { ImageCrc } from './image-crc';
import { PAGE_SIZE } from './layout';

/** Bytes handled per step: large enough for few system calls, small enough to stay in cache. */
const CHUNK = 1 << 20;
const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

/** A memory file that does not match what its manifest says. */
export class MemoryFileError extends VmmError {}

export interface MemoryFileSummary {
  /** The file's size: every range's bytes, holes included. */
  size: number;
  /** Bytes of pages written (not all zero). */
  dataBytes: number;
  /** CRC-32 of the image, holes as zeros (image-crc.ts): 8 hex digits. */
  crc32: string;
}

/**
 * Write `memory` to `path` (created, or truncated): only the pages in `memory.touchedRanges()`
 * that are not all zero are written; the rest are holes. The guest must not run meanwhile.
 */
export function writeMemoryFile(memory: GuestMemory, path: string): MemoryFileSummary {
  const ranges: TouchedRange[] =
    memory.touchedRanges?.() ?? layoutOf(memory).map((r) => ({ gpa: r.gpa, size: r.size, offset: r.offset }));
  const size = memory.totalSize;
  const crc = new ImageCrc();
  /** How far into the image the checksum has come (ranges come in file order). */
  let summed = 0;
  let dataBytes = 0;
  const fd = fs.openSync(path, 'w', 0o600);
  try {
    fs.ftruncateSync(fd, size);
    for (const r of ranges) {
      if (r.offset < summed)
        throw new MemoryFileError('EMEMFILE', 'guest RAM reported its ranges out of order');
      crc.zeros(r.offset - summed);
      summed = r.offset + r.size;
      for (let done = 0; done < r.size; done += CHUNK) {
        const len = Math.min(CHUNK, r.size - done);
        const view = memory.slice(r.gpa + done, len);
        if (!view)
          throw new MemoryFileError(
            'EMEMFILE',
            `guest RAM at 0x${(r.gpa + done).toString(16)} cannot be read`,
          );
        const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
        crc.update(bytes);
        // Runs of pages that are not all zero: one write each.
        let runStart = -1;
        for (let p = 0; p <= len; p += PAGE_SIZE) {
          const page = p < len ? bytes.subarray(p, p + PAGE_SIZE) : undefined;
          const data = page !== undefined && !page.equals(ZERO_PAGE);
          if (data) {
            if (runStart < 0) runStart = p;
            continue;
          }
          if (runStart >= 0) {
            writeAll(fd, bytes.subarray(runStart, p), r.offset + done + runStart);
            dataBytes += p - runStart;
            runStart = -1;
          }
        }
      }
    }
    crc.zeros(size - summed);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { size, dataBytes, crc32: crc.digest() };
}

/**
 * Check a memory file against its manifest: its size, and the checksum of its content (read
 * extent by extent with SEEK_DATA; the holes are folded in as zeros without reading). Throws
 * MemoryFileError naming what is wrong.
 */
export function verifyMemoryFile(path: string, expected: { size: number; crc32: string }): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    throw new MemoryFileError(
      'ESNAPSHOTFILE',
      `the snapshot's memory file ${path} cannot be read: ${(e as Error).message}`,
    );
  }
  if (st.size !== expected.size) {
    throw new MemoryFileError(
      'ESNAPSHOTCORRUPT',
      `the snapshot's memory file ${path} holds ${st.size} bytes, not ${expected.size}: it is truncated or replaced`,
    );
  }
  const fd = fs.openSync(path, 'r');
  try {
    const crc = new ImageCrc();
    const buf = Buffer.alloc(CHUNK);
    let summed = 0;
    for (const e of fileDataExtents(fd, st.size)) {
      crc.zeros(e.start - summed);
      for (let at = e.start; at < e.end;) {
        const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, e.end - at), at);
        if (n === 0) break; // shrunk while read: the sum will not match
        crc.update(buf.subarray(0, n));
        at += n;
        summed = at;
      }
    }
    crc.zeros(st.size - summed);
    if (crc.digest() !== expected.crc32) {
      throw new MemoryFileError(
        'ESNAPSHOTCORRUPT',
        `the snapshot's memory file ${path} does not match its checksum: it was changed or damaged`,
      );
    }
  } finally {
    fs.closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Buffer, position: number): void {
  for (let done = 0; done < bytes.length;)
    done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/** The regions of a memory without touchedRanges(), as file runs. */
function layoutOf(memory: GuestMemory): TouchedRange[] {
  let offset = 0;
  return memory.regions.map((r) => {
    const t = { gpa: r.gpa, size: r.size, offset };
    offset += r.size;
    return t;
  });
}
