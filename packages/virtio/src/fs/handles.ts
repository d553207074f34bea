// The open-file table: what OPEN, CREATE and OPENDIR hand the guest as `fh`, each a real host fd
// (reopened from the node, never from a path), until RELEASE/RELEASEDIR. Bounded: at `max` handles
// a new open is refused. A directory handle keeps its getdents64 buffer between READDIRs.

import { fsConst as C } from '@vmm/hypervisor';

/** Whether open(2) `flags` open for writing (O_WRONLY or O_RDWR). */
export function opensForWriting(flags: number): boolean {
  return (flags & C.O_ACCMODE) !== C.O_RDONLY;
}

export class FsHandle {
  /** Opened for writing (O_WRONLY or O_RDWR). */
  readonly writable: boolean;

  constructor(
    readonly fh: number,
    readonly fd: number,
    readonly dir: boolean,
    /** The open(2) flags it was opened with (a restore opens it again with them). */
    readonly flags: number,
  ) {
    this.writable = opensForWriting(flags);
  }
  /** Directory stream state (dir handles): entries read from the host, not yet given to the guest. */
  dirBuf: Uint8Array | null = null;
  dirView: DataView | null = null;
  dirLen = 0;
  dirPos = 0;
  /** The host's position cookie after the last entry given to the guest (two u32 halves of a u64). */
  cookieLo = 0;
  cookieHi = 0;
}

export class HandleTable {
  private readonly byFh = new Map<number, FsHandle>();
  private nextFh = 1;

  constructor(
    readonly max: number,
    private readonly close: (fd: number) => void,
  ) {}

  get size(): number {
    return this.byFh.size;
  }

  /** A handle for `fd` (taken), or null (fd closed) when the table is full. */
  open(fd: number, dir: boolean, flags: number): FsHandle | null {
    if (this.byFh.size >= this.max) {
      this.close(fd);
      return null;
    }
    const h = new FsHandle(this.nextFh++, fd, dir, flags);
    this.byFh.set(h.fh, h);
    return h;
  }

  /** The fh the next open gets (a restore goes on from the saved one: fhs are never reused). */
  get next(): number {
    return this.nextFh;
  }

  /** A restored handle under its saved fh (taken fd); false (fd closed) if the fh is taken or the table full. */
  adopt(fh: number, fd: number, dir: boolean, flags: number): boolean {
    if (this.byFh.has(fh) || this.byFh.size >= this.max) {
      this.close(fd);
      return false;
    }
    this.byFh.set(fh, new FsHandle(fh, fd, dir, flags));
    this.nextFh = Math.max(this.nextFh, fh + 1);
    return true;
  }

  /** Continue numbering at `fh` at least (the saved session's next fh). */
  skipTo(fh: number): void {
    this.nextFh = Math.max(this.nextFh, fh);
  }

  values(): IterableIterator<FsHandle> {
    return this.byFh.values();
  }

  get(fh: number): FsHandle | undefined {
    return this.byFh.get(fh);
  }

  release(fh: number): boolean {
    const h = this.byFh.get(fh);
    if (!h) return false;
    this.byFh.delete(fh);
    this.close(h.fd);
    return true;
  }

  clear(): void {
    for (const h of this.byFh.values()) this.close(h.fd);
    this.byFh.clear();
  }

  fds(): number[] {
    return [...this.byFh.values()].map((h) => h.fd);
  }
}
