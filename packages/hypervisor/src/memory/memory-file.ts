// Guest RAM as a snapshot file: the layout's ranges one after another (the offsets a memfd or a
// copy-on-write mapping of this file uses), with the pages that are all zero left as holes, so the
// file takes the space of what the guest touched. Its checksum is over content, not extents (a
// copy that fills or punches holes differently still matches): SHA-256 of, for each page that is
// not all zero in file order, its page index (u64 LE) and its 4096 bytes.
import type * as Crypto from 'node:crypto';
import type { Hash } from 'node:crypto';
import fs from 'node:fs';
import { VmmError } from '../errors';
import { loadBuiltin } from '../sys/builtin';
import { lastErrno, libc } from '../sys/libc';
import type { GuestMemory, TouchedRange } from '../types';
import { PAGE_SIZE } from './layout';

/** node:crypto, loaded at the first snapshot: a process that never saves or restores one skips it. */
function sha256(): Hash {
  return loadBuiltin<typeof Crypto>('node:crypto').createHash('sha256');
}

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const ENXIO = 6;
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
  sha256: string;
}

/**
 * Write `memory` to `path` (created, or truncated): only the pages in `memory.touchedRanges()`
 * that are not all zero are written; the rest are holes. The guest must not run meanwhile.
 */
export function writeMemoryFile(memory: GuestMemory, path: string): MemoryFileSummary {
  const ranges: TouchedRange[] =
    memory.touchedRanges?.() ?? layoutOf(memory).map((r) => ({ gpa: r.gpa, size: r.size, offset: r.offset }));
  const size = memory.totalSize;
  const hash = sha256();
  const index = Buffer.alloc(8);
  let dataBytes = 0;
  const fd = fs.openSync(path, 'w', 0o600);
  try {
    fs.ftruncateSync(fd, size);
    for (const r of ranges) {
      for (let done = 0; done < r.size; done += CHUNK) {
        const len = Math.min(CHUNK, r.size - done);
        const view = memory.slice(r.gpa + done, len);
        if (!view)
          throw new MemoryFileError(
            'EMEMFILE',
            `guest RAM at 0x${(r.gpa + done).toString(16)} cannot be read`,
          );
        const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
        // Runs of pages that are not all zero: one write each.
        let runStart = -1;
        for (let p = 0; p <= len; p += PAGE_SIZE) {
          const page = p < len ? bytes.subarray(p, p + PAGE_SIZE) : undefined;
          const data = page !== undefined && !page.equals(ZERO_PAGE);
          if (data) {
            hashPage(hash, index, r.offset + done + p, page);
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
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { size, dataBytes, sha256: hash.digest('hex') };
}

/**
 * Check a memory file against its manifest: its size, and the checksum of its content (read
 * extent by extent with SEEK_DATA, so the holes cost nothing). Throws MemoryFileError naming what
 * is wrong.
 */
export function verifyMemoryFile(path: string, expected: { size: number; sha256: string }): void {
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
    const hash = sha256();
    const index = Buffer.alloc(8);
    const buf = Buffer.alloc(CHUNK);
    for (const e of dataExtents(fd, st.size)) {
      // Extents start on a file system block; pages are 4 KiB: widen to whole pages.
      const start = Math.floor(e.start / PAGE_SIZE) * PAGE_SIZE;
      const end = Math.min(st.size, Math.ceil(e.end / PAGE_SIZE) * PAGE_SIZE);
      for (let at = start; at < end; at += CHUNK) {
        const len = Math.min(CHUNK, end - at);
        const n = fs.readSync(fd, buf, 0, len, at);
        for (let p = 0; p < n; p += PAGE_SIZE) {
          const page = buf.subarray(p, Math.min(p + PAGE_SIZE, n));
          if (!page.equals(ZERO_PAGE.subarray(0, page.length))) hashPage(hash, index, at + p, page);
        }
      }
    }
    if (hash.digest('hex') !== expected.sha256) {
      throw new MemoryFileError(
        'ESNAPSHOTCORRUPT',
        `the snapshot's memory file ${path} does not match its checksum: it was changed or damaged`,
      );
    }
  } finally {
    fs.closeSync(fd);
  }
}

function hashPage(hash: Hash, index: Buffer, offset: number, page: Uint8Array): void {
  index.writeBigUInt64LE(BigInt(offset / PAGE_SIZE));
  hash.update(index);
  hash.update(page);
}

function writeAll(fd: number, bytes: Buffer, position: number): void {
  for (let done = 0; done < bytes.length;)
    done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/** The file's data extents (SEEK_DATA/SEEK_HOLE; a file system without them reports one extent). */
function dataExtents(fd: number, size: number): { start: number; end: number }[] {
  const c = libc();
  const out: { start: number; end: number }[] = [];
  let at = 0;
  while (at < size) {
    const data = c.lseek(fd, at, SEEK_DATA);
    if (data < 0) {
      if (lastErrno() === ENXIO) break;
      return [{ start: 0, end: size }];
    }
    let hole = c.lseek(fd, data, SEEK_HOLE);
    if (hole < 0 || hole > size) hole = size;
    out.push({ start: data, end: hole });
    at = hole;
  }
  return out;
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
