// cachestat(2) (Linux 6.5+, include/uapi/linux/mman.h): how many of a file's pages sit in the page
// cache, dirty, and under writeback. Tests use it to see whether data went to the disk without an
// fsync. null where the call is missing (older kernels, not Linux).
import koffi from 'koffi';

/** The syscall's number: 451 on every architecture (include/uapi/asm-generic/unistd.h). */
const NR_CACHESTAT = 451;
/** struct cachestat_range { __u64 off, len; } (len 0: to the end of the file). */
const RANGE_SIZE = 16;
/** struct cachestat { __u64 nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted; } */
const STAT_SIZE = 40;
const NR_DIRTY = 8;
const NR_WRITEBACK = 16;

export interface CacheStat {
  dirty: number;
  writeback: number;
}

type Syscall = (nr: number, ...args: unknown[]) => number;
let syscall: Syscall | null | undefined;

export function cachestat(fd: number): CacheStat | null {
  if (syscall === undefined) {
    try {
      syscall = koffi.load('libc.so.6').func('long syscall(long nr, ...)') as Syscall;
    } catch {
      syscall = null;
    }
  }
  if (!syscall) return null;
  const range = Buffer.alloc(RANGE_SIZE);
  const stat = Buffer.alloc(STAT_SIZE);
  if (syscall(NR_CACHESTAT, 'unsigned int', fd, 'void *', range, 'void *', stat, 'unsigned int', 0) !== 0)
    return null;
  return {
    dirty: Number(stat.readBigUInt64LE(NR_DIRTY)),
    writeback: Number(stat.readBigUInt64LE(NR_WRITEBACK)),
  };
}
