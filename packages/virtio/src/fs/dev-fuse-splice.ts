// Data between the file and /dev/fuse with one copy instead of two (libfuse 2, bindfs, copies
// twice: into its buffer and out of it). Documentation/filesystems/fuse.rst; splice(2).
// - READ: the reply's header is written into a pipe, the file's pages are spliced in behind it
//   (page references, not a copy) and the pipe is spliced into /dev/fuse, where the kernel copies
//   the data once into the reader's pages. Two more system calls (a statx, to ask for exactly what
//   is there, and the header's write), so reads under SPLICE_MIN keep the copy.
// - WRITE: a request read through the pipe (readRequest) lends its pages to it; its header and
//   fuse_write_in are read out, and its data is spliced from the pipe to the file: the one copy
//   is the file's. One more system call for every request read this way, so the loop reads so
//   only after a big WRITE (the next is likely another).
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
import { FUSE_WRITE, IN_HEADER, OUT_HEADER, WRITE_HEAD } from './layout';

/** The smallest READ spliced, and the WRITE after which the next request comes through the pipe. */
export const SPLICE_MIN = 32 * 1024;
const STX_SIZE = fsLayout.STATX.fields.stx_size;

const PAGE = 4096;

/** The /dev/fuse loop's DirectIo: READ data spliced from the file, WRITE data (of a request read
 *  through the pipe) spliced to it. One request at a time: the pipe holds one, or one reply. */
export class FuseSplice implements DirectIo {
  /** This request's WRITE data is in the pipe, not the request buffer (readRequest). */
  writeData = false;
  /** READ replies sent through the pipe. */
  spliced = 0;
  /** READs that were to be spliced and were copied instead (the file changed size, or cannot splice). */
  fellBack = 0;
  /** WRITEs whose data went from the pipe to the file. */
  splicedWrites = 0;
  /** Whether requests can come through the pipe: it holds the largest WRITE's pages. */
  readonly requestsFit: boolean;
  private readonly fs: FsAt;
  private readonly pipe: HostPipe;
  /** The most bytes (header and data) the pipe holds. */
  private readonly capacity: number;
  private readonly request: DataView;
  private readonly requestBytes: Uint8Array;
  /** The request buffer past WRITE_HEAD, where the rest of any other request goes. */
  private readonly requestTail: Uint8Array;
  /** Request bytes still in the pipe (a WRITE's data the server did not take). */
  private inPipe = 0;
  /** The reply in the pipe, header included: what send() splices into /dev/fuse. */
  private pending = 0;
  private readonly header = new Uint8Array(OUT_HEADER.size);
  private readonly headerView = new DataView(this.header.buffer);
  /** The loff_t splice reads and advances for the file's side. */
  private readonly offset = new Uint8Array(8);
  private readonly offsetView = new DataView(this.offset.buffer);
  private readonly stx = new Uint8Array(fsLayout.STATX.size);
  private readonly stxView = new DataView(this.stx.buffer);
  private readonly scratch = new Uint8Array(64 * 1024);

  /**
   * `request`: the loop's request buffer (a spliced reply's header takes the unique of the request
   * in it); `largestRead`: the largest READ the kernel may send.
   */
  constructor(request: Uint8Array, largestRead: number) {
    this.request = new DataView(request.buffer, request.byteOffset, request.byteLength);
    this.requestBytes = request;
    this.requestTail = request.subarray(WRITE_HEAD);
    this.fs = fsAt();
    this.pipe = createHostPipe();
    // A request in the pipe takes a slot per page of its data (the kernel lends the pages) and
    // pages of its own for the header and arguments: room for the largest WRITE and a few more.
    const want = largestRead + 4 * PAGE;
    // Past /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE: the default size, bigger READs copied.
    const got = this.fs.fcntlInt(this.pipe.writeFd, C.F_SETPIPE_SZ, want);
    this.capacity = got > 0 ? got : this.fs.fcntlInt(this.pipe.writeFd, C.F_GETPIPE_SZ, 0);
    // One that does not fit fails in the kernel with EIO and is answered EIO: never try.
    this.requestsFit = this.capacity >= want;
  }

  /**
   * Reads one request from /dev/fuse through the pipe into the request buffer, but for a WRITE's
   * data, which stays in the pipe for write(). Its length, or -errno (EAGAIN: none yet).
   */
  readRequest(devFuse: number): number {
    const fs = this.fs;
    const n = fs.splice(devFuse, null, this.pipe.writeFd, null, this.requestBytes.length, 0);
    if (n < 0) return -fsErrno();
    const head = Math.min(n, WRITE_HEAD);
    if (fs.read(this.pipe.readFd, this.requestBytes, head) === head) {
      if (n === head) return n;
      if (this.request.getUint32(IN_HEADER.fields.opcode, true) === FUSE_WRITE) {
        this.writeData = true;
        this.inPipe = n - head;
        return n;
      }
      if (fs.read(this.pipe.readFd, this.requestTail, n - head) === n - head) return n;
    }
    this.drain(); // a pipe's read of bytes it holds does not fail; if it did, the request is lost
    return -EIO;
  }

  /**
   * After each request (`length` bytes, in the request buffer or read through the pipe): whatever
   * of it is left in the pipe goes. True when the next request should come through the pipe: this
   * one was a big WRITE, and the next is likely another, whose data then goes from the pipe to
   * the file; after anything else, back to read(2).
   */
  endRequest(length: number): boolean {
    if (this.inPipe > 0) this.drain();
    this.inPipe = 0;
    this.writeData = false;
    return (
      this.requestsFit &&
      length >= WRITE_HEAD + SPLICE_MIN &&
      this.request.getUint32(IN_HEADER.fields.opcode, true) === FUSE_WRITE
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
    if (
      fs.write(this.pipe.writeFd, this.header, OUT_HEADER.size) !== OUT_HEADER.size ||
      fs.splice(fd, this.fileOffset(offset), this.pipe.writeFd, null, n, C.SPLICE_F_NONBLOCK) !== n
    ) {
      this.drain();
      this.fellBack++;
      return NOT_DIRECT;
    }
    this.pending = OUT_HEADER.size + n;
    return n;
  }

  write(fd: number, at: number, size: number, offset: number): number {
    if (!this.writeData || at !== WRITE_HEAD || size > this.inPipe) return -EIO;
    const r = this.fs.splice(this.pipe.readFd, null, fd, this.fileOffset(offset), size, 0);
    if (r < 0) return -fsErrno();
    this.inPipe -= r;
    this.splicedWrites++;
    return r;
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

  /** `offset` (under 2^53: the server checked it) as the loff_t splice takes. */
  private fileOffset(offset: number): Uint8Array {
    this.offsetView.setUint32(0, offset >>> 0, true);
    this.offsetView.setUint32(4, Math.floor(offset / 2 ** 32), true);
    return this.offset;
  }

  private drain(): void {
    while (this.fs.read(this.pipe.readFd, this.scratch, this.scratch.length) > 0);
  }
}
