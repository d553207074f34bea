// Guest RAM on one memfd, mapped once MAP_SHARED: every range of the layout is a slice of that
// mapping. Or, restoring a snapshot, on the snapshot's memory file mapped MAP_PRIVATE: pages come
// from the file on first touch (copy-on-write), the guest's writes stay in this process. `lend()` hands a worker thread what it needs to rebuild the same views
// (attachGuestMemory): the mapping belongs to the process, so the worker views the same address.
// The mapping is counted: it is unmapped only once the owner closed it and every lease was
// released, so guest RAM never disappears under a thread that may still touch it.
import { VmmError } from '../errors';
import { callError, check, retryInterrupted } from '../sys/call';
import { EINVAL } from '../sys/errno';
import {
  lastErrno,
  libc,
  MADV_POPULATE_WRITE,
  MAP_FAILED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from '../sys/libc';
import type { GuestMemoryHandle, GuestMemoryLease, MemoryLayout, TouchedRange } from '../types';
import { fileDataExtents, privatelyWritten, unionOf, type Extent } from './extents';
import { checkLayout, type CheckedRange } from './layout';
import { MappedGuestMemory, MAX_VIEW_BYTES } from './mapped-guest-memory';

// <linux/memfd.h>
const MFD_CLOEXEC = 1;
// <fcntl.h>, <unistd.h> (x86_64).
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const SEEK_END = 2;
/** prefault(): bytes per madvise, and how many run at once on the libuv pool (4 threads by default). */
const PREFAULT_PIECE = 64 << 20;
const PREFAULT_LANES = 2;

/** One range of guest RAM with the host address KVM_SET_USER_MEMORY_REGION needs. */
export interface HostRange {
  gpa: number;
  size: number;
  hostAddress: bigint;
}

export class MemfdGuestMemory extends MappedGuestMemory {
  private closed = false;
  private unmapped = false;
  /** Leases not yet released. */
  private leases = 0;

  private constructor(
    readonly fd: number,
    hostAddress: bigint,
    ranges: CheckedRange[],
    private readonly mappedSize: number,
    private readonly maxViewBytesUsed: number,
    /** Mapped MAP_PRIVATE from a snapshot's memory file (fd is that file, never written). */
    private readonly fromFile = false,
  ) {
    // Views are made as the RAM is touched, a window at a time (MappedGuestMemory).
    super(hostAddress, ranges, maxViewBytesUsed);
  }

  /**
   * Creates the memfd, sizes it, maps it. Pages are allocated on first touch. With
   * `layout.backingFile`, maps that file copy-on-write instead.
   */
  static create(layout: MemoryLayout, options: { maxViewBytes?: number } = {}): MemfdGuestMemory {
    const ranges = checkLayout(layout);
    const total = ranges.reduce((n, r) => n + r.size, 0);
    const c = libc();
    if (layout.backingFile !== undefined) {
      return MemfdGuestMemory.mapFile(layout.backingFile, ranges, total, options.maxViewBytes);
    }
    const fd = check('memfd_create', c.memfdCreate('vmm-guest-ram', MFD_CLOEXEC));
    try {
      check('ftruncate', c.ftruncate(fd, total), `sizing guest RAM to ${total} bytes`);
      const addr = c.mmap(null, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
      if (addr === MAP_FAILED || addr === 0n)
        throw callError('mmap', lastErrno(), `mapping ${total} bytes of guest RAM`);
      return new MemfdGuestMemory(fd, addr, ranges, total, options.maxViewBytes ?? MAX_VIEW_BYTES);
    } catch (e) {
      c.close(fd);
      throw e;
    }
  }

  private static mapFile(
    path: string,
    ranges: CheckedRange[],
    total: number,
    maxViewBytes = MAX_VIEW_BYTES,
  ): MemfdGuestMemory {
    const c = libc();
    const fd = c.open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw callError('open', lastErrno(), `the memory file ${path}`);
    try {
      const size = c.lseek(fd, 0, SEEK_END);
      if (size !== total) {
        throw new VmmError(
          'EMEMFILE',
          `the memory file ${path} holds ${size} bytes, but the layout needs ${total}: it is truncated or from another VM`,
        );
      }
      const addr = c.mmap(null, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
      if (addr === MAP_FAILED || addr === 0n) throw callError('mmap', lastErrno(), `mapping ${path}`);
      return new MemfdGuestMemory(fd, addr, ranges, total, maxViewBytes, true);
    } catch (e) {
      c.close(fd);
      throw e;
    }
  }

  /**
   * The runs that may hold data, split at range boundaries: the memfd's data extents (pages ever
   * written). Mapped from a file: the file's data extents and the pages the guest wrote since (a
   * copy-on-write page where the file may have a hole), or every range if pagemap cannot say.
   */
  touchedRanges(): TouchedRange[] {
    let extents: Extent[];
    if (this.fromFile) {
      const written = privatelyWritten(this.hostAddress, this.mappedSize);
      if (!written) return this.ranges.map((r) => ({ gpa: r.gpa, size: r.size, offset: r.hostOffset }));
      extents = unionOf(fileDataExtents(this.fd, this.mappedSize), written);
    } else {
      extents = fileDataExtents(this.fd, this.mappedSize);
    }
    const out: TouchedRange[] = [];
    for (const r of this.ranges) {
      const rEnd = r.hostOffset + r.size;
      for (const e of extents) {
        const start = Math.max(e.start, r.hostOffset);
        const end = Math.min(e.end, rEnd);
        if (start < end) out.push({ gpa: r.gpa + (start - r.hostOffset), size: end - start, offset: start });
      }
    }
    return out;
  }

  /**
   * Mapped from a file: fault its data extents in, writable (MADV_POPULATE_WRITE), in pieces of
   * at most PREFAULT_PIECE on the libuv pool, a few at a time. The memory must stay open until
   * this settles (a VM awaits it before its vCPUs run).
   */
  async prefault(): Promise<void> {
    if (!this.fromFile) return;
    if (this.closed) throw new VmmError('EGUESTMEM', 'guest memory was closed before its prefault');
    const pieces: Extent[] = [];
    for (const e of fileDataExtents(this.fd, this.mappedSize)) {
      for (let at = e.start; at < e.end; at += PREFAULT_PIECE)
        pieces.push({ start: at, end: Math.min(e.end, at + PREFAULT_PIECE) });
    }
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < pieces.length) await this.populate(pieces[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(PREFAULT_LANES, pieces.length) }, lane));
  }

  /** One piece of prefault(): on the pool; a failure is made again here to read its errno. */
  private async populate(piece: Extent): Promise<void> {
    const at = this.hostAddress + BigInt(piece.start);
    const len = piece.end - piece.start;
    const c = libc();
    if ((await c.madviseAsync(at, len, MADV_POPULATE_WRITE)) === 0) return;
    if (retryInterrupted(() => c.madvise(at, len, MADV_POPULATE_WRITE)) === 0) return;
    const errno = lastErrno();
    throw callError(
      'madvise',
      errno,
      errno === EINVAL
        ? 'prefaulting guest RAM from its memory file: this kernel has no MADV_POPULATE_WRITE (Linux 5.14 and later have it); restore without prefault'
        : `prefaulting ${len} bytes of guest RAM at file offset ${piece.start}`,
    );
  }

  /** The layout's ranges with their host addresses: one KVM memory slot each. */
  hostRanges(): HostRange[] {
    return this.ranges.map((r) => ({
      gpa: r.gpa,
      size: r.size,
      hostAddress: this.hostAddress + BigInt(r.hostOffset),
    }));
  }

  lend(): GuestMemoryLease {
    if (this.closed)
      throw new VmmError('EGUESTMEM', 'guest memory was closed: lend it before closing the VM');
    this.leases++;
    const handle: GuestMemoryHandle = {
      fd: this.fd,
      hostAddress: this.hostAddress,
      ranges: this.ranges.map((r) => ({ ...r })),
      maxViewBytes: this.maxViewBytesUsed,
    };
    let released = false;
    return {
      handle,
      release: () => {
        if (released) return;
        released = true;
        this.leases--;
        this.unmapWhenFree();
      },
    };
  }

  /** Leases still out (a thread that may touch this RAM). */
  get outstandingLeases(): number {
    return this.leases;
  }

  /** Whether the host mapping is gone (closed and every lease released). */
  get isUnmapped(): boolean {
    return this.unmapped;
  }

  /**
   * The owner is done: unmap and close now, or when the last lease is released. Every view here
   * is dead afterwards; a worker's views live until it released its lease.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unmapWhenFree();
  }

  private unmapWhenFree(): void {
    if (!this.closed || this.leases > 0 || this.unmapped) return;
    this.unmapped = true;
    libc().munmap(this.hostAddress, this.mappedSize);
    libc().close(this.fd);
  }
}

/** In a worker thread: the same guest RAM, same regions, over the owner's mapping. */
export function attachGuestMemory(handle: GuestMemoryHandle): MappedGuestMemory {
  return new MappedGuestMemory(handle.hostAddress, handle.ranges, handle.maxViewBytes);
}
