// Where guest RAM may hold data, as byte runs: a file's data extents (SEEK_DATA/SEEK_HOLE), and the
// pages of a private mapping that this process has written (copy-on-write pages, told apart from
// the file's own by /proc/self/pagemap: Documentation/admin-guide/mm/pagemap.rst).
import fs from 'node:fs';
import { lastErrno, libc } from '../sys/libc';
import { PAGE_SIZE } from './layout';

export interface Extent {
  start: number;
  end: number;
}

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const ENXIO = 6;

/** The data extents of the first `size` bytes of `fd`; the whole when the file system cannot say. */
export function fileDataExtents(fd: number, size: number): Extent[] {
  const c = libc();
  const out: Extent[] = [];
  let at = 0;
  while (at < size) {
    const data = c.lseek(fd, at, SEEK_DATA);
    if (data < 0) {
      if (lastErrno() === ENXIO) break;
      return [{ start: 0, end: size }];
    }
    if (data >= size) break;
    let hole = c.lseek(fd, data, SEEK_HOLE);
    if (hole < 0 || hole > size) hole = size;
    out.push({ start: data, end: hole });
    at = hole;
  }
  return out;
}

// A pagemap entry (u64 per page): bit 63 present, 62 swapped, 61 a file page or shared anonymous.
// Read as its high 32 bits: bits 31, 30 and 29 of those.
const PM_PRESENT = 1 << 31;
const PM_SWAPPED = 1 << 30;
const PM_FILE = 1 << 29;
/** Pages read from pagemap per system call (8 bytes each: 1 MiB of entries, 512 MiB of RAM). */
const PAGES_PER_READ = 128 * 1024;

/**
 * The pages of the private mapping at `address` (`size` bytes) that this process wrote: anonymous
 * (present and not a file page, or swapped out). Undefined when pagemap cannot be read.
 */
export function privatelyWritten(address: bigint, size: number): Extent[] | undefined {
  let fd: number;
  try {
    fd = fs.openSync('/proc/self/pagemap', 'r');
  } catch {
    return undefined;
  }
  try {
    const pages = Math.ceil(size / PAGE_SIZE);
    const first = address / BigInt(PAGE_SIZE);
    const buf = Buffer.alloc(Math.min(pages, PAGES_PER_READ) * 8);
    const out: Extent[] = [];
    let runStart = -1;
    for (let done = 0; done < pages;) {
      const n = Math.min(PAGES_PER_READ, pages - done);
      const got = fs.readSync(fd, buf, 0, n * 8, (first + BigInt(done)) * 8n);
      if (got !== n * 8) return undefined;
      for (let i = 0; i < n; i++) {
        const high = buf.readUInt32LE(i * 8 + 4);
        const written = (high & PM_SWAPPED) !== 0 || ((high & PM_PRESENT) !== 0 && (high & PM_FILE) === 0);
        const at = (done + i) * PAGE_SIZE;
        if (written && runStart < 0) runStart = at;
        if (!written && runStart >= 0) {
          out.push({ start: runStart, end: at });
          runStart = -1;
        }
      }
      done += n;
    }
    if (runStart >= 0) out.push({ start: runStart, end: Math.min(pages * PAGE_SIZE, size) });
    return out;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** The union of runs, sorted, overlapping and touching ones joined. */
export function unionOf(...lists: Extent[][]): Extent[] {
  const all = lists.flat().sort((a, b) => a.start - b.start);
  const out: Extent[] = [];
  for (const e of all) {
    const last = out[out.length - 1];
    if (last && e.start <= last.end) last.end = Math.max(last.end, e.end);
    else out.push({ ...e });
  }
  return out;
}
