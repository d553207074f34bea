// READ replies through /dev/fuse with one copy instead of two: the reply's header is written into
// a pipe, the file's pages are spliced in after it (page references, not a copy), and the pipe is
// spliced into /dev/fuse, where the kernel copies the data once into the reader's pages. A pread
// into our reply buffer and a write(2) of it copy it twice (libfuse without splice does the same).
// It costs two more system calls (a statx, to ask for exactly what is there, and the header's
// write), so reads under SPLICE_MIN keep the copy. Documentation/filesystems/fuse.rst; splice(2).
import {
  createHostPipe,
  fsAt,
  fsConst as C,
  fsErrno,
  fsLayout,
  type FsAt,
  type HostPipe,
} from '@vmm/hypervisor';
import { NOT_DIRECT, type DirectIo } from './direct-io';
import { EIO } from './errno';
import { EMPTY_PATH } from './host';
import { IN_HEADER, OUT_HEADER } from './layout';

/** The smallest READ spliced: below it, a copy costs less than two system calls. */
export const SPLICE_MIN = 32 * 1024;
const STX_SIZE = fsLayout.STATX.fields.stx_size;

/** The /dev/fuse loop's DirectIo: READ data spliced from the file; WRITE data stays in the request. */
export class SplicedReads implements DirectIo {
  readonly writeData = false;
  /** READ replies sent through the pipe. */
  spliced = 0;
  /** READs that were to be spliced and were copied instead (the file changed size, or cannot splice). */
  fellBack = 0;
  private readonly fs: FsAt;
  private readonly pipe: HostPipe;
  /** The most bytes (header and data) the pipe holds. */
  private readonly capacity: number;
  private readonly header = new Uint8Array(OUT_HEADER.size);
  private readonly headerView = new DataView(this.header.buffer);
  private readonly offset = new Uint8Array(8);
  private readonly offsetView = new DataView(this.offset.buffer);
  private readonly stx = new Uint8Array(fsLayout.STATX.size);
  private readonly stxView = new DataView(this.stx.buffer);
  private readonly scratch = new Uint8Array(64 * 1024);
  /** The reply in the pipe, header included: what send() splices into /dev/fuse. */
  private pending = 0;

  private readonly request: DataView;

  /**
   * `request`: the loop's request buffer (a spliced reply's header takes the unique of the request
   * in it); `largestRead`: the largest READ the kernel may send.
   */
  constructor(request: Uint8Array, largestRead: number) {
    this.request = new DataView(request.buffer, request.byteOffset, request.byteLength);
    this.fs = fsAt();
    this.pipe = createHostPipe();
    const want = OUT_HEADER.size + largestRead;
    // Past /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE: the default size, bigger READs copied.
    const got = this.fs.fcntlInt(this.pipe.writeFd, C.F_SETPIPE_SZ, want);
    this.capacity = got > 0 ? got : this.fs.fcntlInt(this.pipe.writeFd, C.F_GETPIPE_SZ, 0);
  }

  /** The request about to be served (its unique goes in a spliced reply's header). */
  setRequest(request: Uint8Array): void {
    this.header.set(
      request.subarray(IN_HEADER.fields.unique, IN_HEADER.fields.unique + 8),
      OUT_HEADER.fields.unique,
    );
  }

  read(fd: number, size: number, offset: number): number {
    if (size < SPLICE_MIN || OUT_HEADER.size + size > this.capacity) return NOT_DIRECT;
    const fs = this.fs;
    // Exactly what is there: a short splice would leave a header in the pipe that says more.
    if (fs.statx(fd, EMPTY_PATH, C.AT_EMPTY_PATH, C.STATX_SIZE, this.stx) !== 0) return NOT_DIRECT;
    const end = this.stxView.getUint32(STX_SIZE, true) + this.stxView.getUint32(STX_SIZE + 4, true) * 2 ** 32;
    const n = Math.min(size, end - offset);
    if (n < SPLICE_MIN) return NOT_DIRECT;
    const h = this.headerView;
    h.setUint32(OUT_HEADER.fields.len, OUT_HEADER.size + n, true);
    h.setInt32(OUT_HEADER.fields.error, 0, true);
    const u = IN_HEADER.fields.unique;
    h.setUint32(OUT_HEADER.fields.unique, this.request.getUint32(u, true), true);
    h.setUint32(OUT_HEADER.fields.unique + 4, this.request.getUint32(u + 4, true), true);
    const o = this.offsetView;
    o.setUint32(0, offset >>> 0, true);
    o.setUint32(4, Math.floor(offset / 2 ** 32), true);
    if (
      fs.write(this.pipe.writeFd, this.header, OUT_HEADER.size) !== OUT_HEADER.size ||
      fs.splice(fd, this.offset, this.pipe.writeFd, null, n, C.SPLICE_F_NONBLOCK) !== n
    ) {
      this.drain();
      this.fellBack++;
      return NOT_DIRECT;
    }
    this.pending = OUT_HEADER.size + n;
    return n;
  }

  write(): number {
    return -EIO; // never called: writeData is false
  }

  /** Splices the reply read() left in the pipe into /dev/fuse: its length, or -errno. */
  send(devFuse: number): number {
    const want = this.pending;
    this.pending = 0;
    const r = this.fs.splice(this.pipe.readFd, null, devFuse, null, want, 0);
    if (r === want) {
      this.spliced++;
      return r;
    }
    const e = r < 0 ? fsErrno() : EIO;
    this.drain(); // the pipe holds one reply at most, and nothing of it once this returns
    return -e;
  }

  close(): void {
    this.fs.close(this.pipe.readFd);
    this.fs.close(this.pipe.writeFd);
  }

  private drain(): void {
    while (this.fs.read(this.pipe.readFd, this.scratch, this.scratch.length) > 0);
  }
}
