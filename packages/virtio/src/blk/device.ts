// virtio-blk: virtio 1.2 §5.2, over a raw image file. File data moves straight between the file
// and guest memory views (readv/writev: no intermediate copy). Two ways to run it: `io: 'async'`
// puts file I/O on the libuv pool, so neither a vCPU thread nor the event loop waits on the disk
// (requests complete out of order); `io: 'sync'` does it on the calling thread, for a device
// served in its own I/O thread, where it saves a thread hop per request. Sequential writes have
// their host writeback started as they complete (write-behind.ts), so a FLUSH finds less to do.
//
// A guest controls how much work one kick is: the work is bounded. One process() call starts at
// most a queue's worth of requests, then asks to be called again (DeviceContext.requeue); a
// request moves at most IO_CHUNK bytes per system call, and in sync mode the thread's owner may
// interrupt it between chunks (DeviceContext.interrupted: a reset or a detach then waits one
// chunk, not a guest-sized batch).
import fs from 'node:fs';
import type { DeviceContext, DeviceThreadSpec, VirtioDevice } from '../device';
import { VirtioConfigError } from '../errors';
import { TRANSPORT_FEATURES, bit, hasFeature } from '../features';
import { DescriptorChain } from '../queue/chain';
import { DEVICE_ID_BLOCK } from '../status';
import type { BlkImage } from './image';
import { openBlkImage } from './image';
import * as L from './layout';
import { punchHole, punchHoleSync } from './punch-hole';
import { WriteBehind } from './write-behind';
import { startWriteback, startWritebackSync, writebackAvailable } from './writeback';

export interface BlkDeviceOptions {
  /** Path of a raw image (a regular file or a block device) whose size is a multiple of 512. */
  path: string;
  /** readonly=on: offer VIRTIO_BLK_F_RO and fail writes with VIRTIO_BLK_S_IOERR. */
  readonly?: boolean;
  /** GET_ID answer: up to 20 bytes. */
  serial?: string;
  /** QueueNumMax of the request queue: a power of two in 4..1024 (default 256). */
  queueSize?: number;
  /** An image already opened (by openBlkImage, maybe in another thread) instead of opening `path`. */
  image?: BlkImage;
  /** 'async' (default): file I/O on the libuv pool; 'sync': on the calling thread. */
  io?: 'async' | 'sync';
  /**
   * 'unmap' (default): DISCARD and WRITE_ZEROES punch holes in the image where its file system can;
   * 'ignore': the image stays allocated (QEMU's discard=ignore): DISCARD does nothing, WRITE_ZEROES
   * writes zeros.
   */
  discard?: 'unmap' | 'ignore';
}

/** Counters of one disk (readable by the library; only ever grow). */
export type BlkDeviceStats = {
  requests: number;
  readBytes: number;
  writtenBytes: number;
  flushes: number;
  /** Requests completed with VIRTIO_BLK_S_IOERR (bad sector range, write to a read-only disk, host I/O error). */
  errors: number;
  /** Requests completed with VIRTIO_BLK_S_UNSUPP. */
  unsupported: number;
  /** Chains without a header or a status byte, returned with used length 0. */
  malformed: number;
};

/** Most segments one DISCARD or WRITE_ZEROES request may carry (max_discard_seg, max_write_zeroes_seg). */
const MAX_DWZ_SEGMENTS = 32;
/** Most sectors per DISCARD/WRITE_ZEROES segment (2 GiB - 512). */
const MAX_DWZ_SECTORS = 0x3fffff;
/** Zeros written per call when a hole cannot be punched. */
const ZERO_CHUNK = 1024 * 1024;
/**
 * Most bytes one readv/writev moves. Linux's requests are at most a few MiB (seg_max pages), so
 * they go in one piece; a hostile 256 MiB chain goes in 64, each a point where the I/O thread
 * can be interrupted.
 */
export const IO_CHUNK = 4 * 1024 * 1024;

/** Where a parked request resumes. */
const enum Resume {
  None,
  Transfer,
  Zeros,
  Segments,
}

/** One in-flight request: its chain, iovec array, segment table and callbacks are made once and reused. */
class BlkRequest {
  readonly chain: DescriptorChain;
  readonly iov: Uint8Array[] = [];
  readonly header = new Uint8Array(L.REQ_HEADER_SIZE);
  readonly headerView = new DataView(this.header.buffer);
  readonly status = new Uint8Array(1);
  /** DISCARD / WRITE_ZEROES segments, read from guest memory once (byte offset, byte length). */
  readonly segPosition = new Float64Array(MAX_DWZ_SEGMENTS);
  readonly segLength = new Float64Array(MAX_DWZ_SEGMENTS);
  epoch = 0;
  type = 0;
  /** File position of the next byte to move; bytes still to move. */
  position = 0;
  remaining = 0;
  /** Bytes moved so far (for resubmitting after a short transfer). */
  done = 0;
  /** Length of the data part; the used length to report. */
  dataLen = 0;
  usedLen = 0;
  /** DISCARD / WRITE_ZEROES: the next segment to do and how many there are. */
  segment = 0;
  segments = 0;
  resume = Resume.None;
  readonly onIo: (err: NodeJS.ErrnoException | null, n: number) => void;
  readonly onSync: (err: NodeJS.ErrnoException | null) => void;
  readonly onPunch: (ok: boolean) => void;
  readonly onZeros: (err: NodeJS.ErrnoException | null, n: number) => void;

  constructor(device: BlkDevice, capacity: number) {
    this.chain = new DescriptorChain(capacity);
    this.onIo = (err, n) => device.ioDone(this, err, n);
    this.onSync = (err) => device.finish(this, err ? L.VIRTIO_BLK_S_IOERR : L.VIRTIO_BLK_S_OK);
    this.onPunch = (ok) => device.punchDone(this, ok);
    this.onZeros = (err, n) => device.zerosDone(this, err, n);
  }
}

/**
 * What a disk's I/O thread asks of the kernel: file I/O straight into guest memory (readv, writev,
 * pread, pwrite and their v2 forms), flushes (fdatasync), holes (fallocate) and writeback hints
 * (sync_file_range). No open, no socket, no ioctl.
 */
const BLK_THREAD_SYSCALLS = [
  'readv',
  'writev',
  'pread64',
  'pwrite64',
  'preadv',
  'pwritev',
  'preadv2',
  'pwritev2',
  'fdatasync',
  'fsync',
  'fallocate',
  'sync_file_range',
] as const;

/** A disk built from BlkDevice.threadSpec() in its I/O thread. */
export function createBlkDevice(options: BlkDeviceOptions): BlkDevice {
  return new BlkDevice(options);
}

export class BlkDevice implements VirtioDevice {
  readonly deviceId = DEVICE_ID_BLOCK;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = L.CONFIG_SIZE;
  readonly image: BlkImage;
  /** Capacity in 512-byte sectors. */
  readonly capacity: number;
  readonly stats: BlkDeviceStats = {
    requests: 0,
    readBytes: 0,
    writtenBytes: 0,
    flushes: 0,
    errors: 0,
    unsupported: 0,
    malformed: 0,
  };

  private readonly config = new Uint8Array(L.CONFIG_SIZE);
  private readonly serial = new Uint8Array(L.VIRTIO_BLK_ID_BYTES);
  private readonly serialText: string | undefined;
  private ctx: DeviceContext | undefined;
  private epoch = 0;
  /**
   * Async mode: guest RAM lent for the I/O the libuv pool does into it, per activation. An
   * earlier activation's lease is released once none of its requests is in flight, so a reboot
   * never unmaps RAM a pool thread is still reading into (the kernel would write wherever the
   * address then points).
   */
  private leases: { epoch: number; release(): void }[] = [];
  private readonly free: BlkRequest[] = [];
  private made = 0;
  private zeros: Uint8Array | undefined;
  private closed = false;
  private inProcess = false;
  private fdClosed = false;
  private readonly sync: boolean;
  private readonly unmap: boolean;
  /** Sync mode: the request an interruption stopped, resumed first by the next process(). */
  private parked: BlkRequest | undefined;
  /** Sequential writes get their host writeback started (write-behind.ts); off where it fails. */
  private writeBehind: WriteBehind | undefined;
  private readonly due = { from: 0, len: 0 };
  private writebacksInFlight = 0;
  private writebacks = 0;
  private readonly onWriteback = (ok: boolean): void => {
    this.writebacksInFlight--;
    if (!ok) this.writeBehind = undefined;
    if (this.closed) this.closeWhenIdle();
  };

  constructor(options: BlkDeviceOptions) {
    const queueSize = options.queueSize ?? 256;
    // A pop may walk every pending chain to its full length (size^2 descriptors): keep it small.
    if (!(queueSize >= 4 && queueSize <= 1024 && (queueSize & (queueSize - 1)) === 0)) {
      throw new VirtioConfigError(
        'EBLKQUEUE',
        `virtio-blk queue size ${queueSize} is not a power of two in 4..1024: pick one that is`,
      );
    }
    const serial = new TextEncoder().encode(options.serial ?? '');
    if (serial.length > L.VIRTIO_BLK_ID_BYTES) {
      throw new VirtioConfigError(
        'EBLKSERIAL',
        `disk serial "${options.serial}" is ${serial.length} bytes: virtio-blk serials hold at most ${L.VIRTIO_BLK_ID_BYTES}`,
      );
    }
    this.serial.set(serial);
    this.serialText = options.serial;
    this.image = options.image ?? openBlkImage(options.path, options.readonly ?? false);
    this.sync = options.io === 'sync';
    this.unmap = (options.discard ?? 'unmap') === 'unmap';
    if (!this.image.readonly && this.image.kind === 'file' && writebackAvailable())
      this.writeBehind = new WriteBehind();
    this.capacity = this.image.size / L.SECTOR_SIZE;
    this.queueMaxSizes = [queueSize];
    let f =
      TRANSPORT_FEATURES |
      bit(L.VIRTIO_BLK_F_SEG_MAX) |
      bit(L.VIRTIO_BLK_F_BLK_SIZE) |
      bit(L.VIRTIO_BLK_F_FLUSH);
    f |= this.image.readonly
      ? bit(L.VIRTIO_BLK_F_RO)
      : bit(L.VIRTIO_BLK_F_DISCARD) | bit(L.VIRTIO_BLK_F_WRITE_ZEROES);
    this.features = f;

    const c = new DataView(this.config.buffer);
    c.setBigUint64(L.CONFIG_CAPACITY, BigInt(this.capacity), true);
    c.setUint32(L.CONFIG_SEG_MAX, queueSize - 2, true);
    c.setUint32(L.CONFIG_BLK_SIZE, L.SECTOR_SIZE, true);
    c.setUint32(L.CONFIG_MAX_DISCARD_SECTORS, MAX_DWZ_SECTORS, true);
    c.setUint32(L.CONFIG_MAX_DISCARD_SEG, MAX_DWZ_SEGMENTS, true);
    c.setUint32(L.CONFIG_DISCARD_SECTOR_ALIGNMENT, 8, true);
    c.setUint32(L.CONFIG_MAX_WRITE_ZEROES_SECTORS, MAX_DWZ_SECTORS, true);
    c.setUint32(L.CONFIG_MAX_WRITE_ZEROES_SEG, MAX_DWZ_SEGMENTS, true);
    c.setUint8(L.CONFIG_WRITE_ZEROES_MAY_UNMAP, 1);
  }

  /**
   * How many times this disk has started host writeback (write-behind.ts). An I/O thread does not
   * busy-poll right after one: the kernel needs the CPU for that writeback (measured here:
   * polling then made sequential writes slower than sleeping).
   */
  get hostWorkStarted(): number {
    return this.writebacks;
  }

  /** Served from its own I/O thread: the same image (its fd), requests done synchronously there. */
  threadSpec(): DeviceThreadSpec {
    const options: BlkDeviceOptions = {
      path: this.image.path,
      image: this.image,
      serial: this.serialText,
      queueSize: this.queueMaxSizes[0],
      discard: this.unmap ? 'unmap' : 'ignore',
      io: 'sync',
    };
    return { module: '@vmm/virtio', exportName: 'createBlkDevice', options, syscalls: BLK_THREAD_SYSCALLS };
  }

  /** The owner of the thread wants it back (sync mode only: async requests are not the thread's). */
  private interrupted(): boolean {
    return this.sync && this.ctx?.interrupted?.() === true;
  }

  /** Requests taken from the ring and not yet completed or dropped. */
  get inFlight(): number {
    return this.made - this.free.length;
  }

  readConfig(offset: number, data: Uint8Array): void {
    data.set(this.config.subarray(offset, offset + data.length));
  }

  /** The capacity the driver read at probe and keeps (no config change is raised for it). */
  hostFacts(): Readonly<Record<string, number>> {
    return { sectors: this.capacity };
  }

  hostFactsFault(saved: Readonly<Record<string, number>>): string | undefined {
    const was = saved.sectors;
    if (was === undefined || was === this.capacity) return undefined;
    return (
      `disk image ${this.image.path} is ${this.capacity * L.SECTOR_SIZE} bytes and was ` +
      `${was * L.SECTOR_SIZE} when the snapshot was taken: the guest would go on with the old size ` +
      `(reads and writes past the end fail); restore with the image as it was then`
    );
  }

  writeConfig(): void {
    // Only `writeback` is writable, with VIRTIO_BLK_F_CONFIG_WCE, which is not offered.
  }

  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
    const lease = this.sync ? undefined : ctx.memory.lend?.();
    if (lease) this.leases.push({ epoch: this.epoch, release: lease.release });
    this.process();
  }

  queueNotify(): void {
    this.process();
  }

  reset(): void {
    this.ctx = undefined;
    this.epoch++;
    const parked = this.parked;
    this.parked = undefined;
    if (parked) this.release(parked);
    // Requests still in flight let go of the old RAM when they come back (release()).
    for (const r of this.free) r.chain.unbind();
    this.releaseOldLeases();
  }

  /**
   * Close the image; call once the transport is gone. In-flight requests are dropped, and the file
   * descriptor is closed when the last of them returns (never under an I/O still running).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reset();
    this.closeWhenIdle();
  }

  private closeWhenIdle(): void {
    if (!this.closed || this.fdClosed || this.free.length < this.made || this.writebacksInFlight > 0) return;
    this.fdClosed = true;
    fs.closeSync(this.image.fd);
  }

  private take(): BlkRequest | undefined {
    const r = this.free.pop();
    if (r) return r;
    if (this.made >= this.queueMaxSizes[0]!) return undefined;
    this.made++;
    return new BlkRequest(this, this.queueMaxSizes[0]!);
  }

  /**
   * Pop and start available requests: at most a queue's worth per call (then requeue), until
   * requests run out (a completion resumes) or, in sync mode, the owner interrupts.
   */
  private process(): void {
    const ctx = this.ctx;
    if (!ctx || this.closed || this.inProcess) return;
    const q = ctx.queues[0]!;
    this.inProcess = true;
    let budget = q.size;
    try {
      const parked = this.parked;
      if (parked) {
        this.parked = undefined;
        this.continueParked(parked);
        if (this.parked) return;
      }
      for (;;) {
        while (q.live) {
          if (budget-- <= 0 || this.interrupted()) {
            this.endBatch(ctx);
            if (q.hasAvailable()) ctx.requeue(0);
            return;
          }
          const req = this.take();
          if (!req) break; // all in flight: a completion calls process() again
          const r = q.pop(req.chain);
          if (r !== 'chain') {
            this.free.push(req);
            if (r === 'broken') ctx.needsReset();
            break;
          }
          req.epoch = this.epoch;
          this.stats.requests++;
          this.startGuarded(req);
          if (this.parked) {
            this.endBatch(ctx);
            return;
          }
        }
        this.endBatch(ctx);
        if (this.free.length === 0 && this.made >= this.queueMaxSizes[0]!) return;
        if (!q.enableNotification()) return;
      }
    } finally {
      this.inProcess = false;
    }
  }

  /** The end of a batch: one interrupt for what completed, then host writeback of what is due. */
  private endBatch(ctx: DeviceContext): void {
    ctx.signalUsed(0);
    this.startDueWriteback(); // after the interrupt: the guest need not wait for it
  }

  /** A request's slot is returned whatever happens: a model bug parks the device, not the slot. */
  private startGuarded(req: BlkRequest): void {
    try {
      this.startRequest(req);
    } catch (e) {
      if (this.parked === req) this.parked = undefined;
      if (!this.free.includes(req)) this.release(req);
      throw e;
    }
  }

  private continueParked(req: BlkRequest): void {
    const resume = req.resume;
    req.resume = Resume.None;
    if (req.epoch !== this.epoch) return this.release(req);
    if (resume === Resume.Transfer) this.transfer(req);
    else if (resume === Resume.Zeros) this.writeZeros(req);
    else this.nextSegment(req);
  }

  /** Sync mode: stop here if the owner wants the thread; true when the request was parked. */
  private park(req: BlkRequest, resume: Resume): boolean {
    if (!this.interrupted()) return false;
    req.resume = resume;
    this.parked = req;
    return true;
  }

  private startRequest(req: BlkRequest): void {
    const chain = req.chain;
    // The header (16 readable bytes) and the status byte (the last writable one) must be there.
    if (chain.readableBytes < L.REQ_HEADER_SIZE || chain.writableBytes < 1) {
      this.stats.malformed++;
      this.ctx?.log?.(
        'blk-malformed',
        'the guest queued a request without its 16-byte header or its status byte: returned unused',
      );
      this.complete(req, 0);
      return;
    }
    chain.read(0, req.header, 0, L.REQ_HEADER_SIZE);
    const h = req.headerView;
    req.type = h.getUint32(L.REQ_TYPE, true);
    const sectorLo = h.getUint32(L.REQ_SECTOR, true);
    const sectorHi = h.getUint32(L.REQ_SECTOR + 4, true);
    // Sectors past 2^53/512 are past any image: make them fail the range check.
    const sector =
      sectorHi > 0x1fffff / L.SECTOR_SIZE ? Number.MAX_SAFE_INTEGER : sectorHi * 0x1_0000_0000 + sectorLo;
    req.done = 0;
    req.usedLen = 1;
    const ro = this.image.readonly;
    switch (req.type) {
      case L.VIRTIO_BLK_T_IN: {
        req.dataLen = chain.writableBytes - 1;
        req.usedLen = req.dataLen + 1;
        if (!this.inRange(sector, req.dataLen)) return this.finish(req, L.VIRTIO_BLK_S_IOERR);
        req.position = sector * L.SECTOR_SIZE;
        req.remaining = req.dataLen;
        return this.transfer(req);
      }
      case L.VIRTIO_BLK_T_OUT: {
        req.dataLen = chain.readableBytes - L.REQ_HEADER_SIZE;
        if (ro || !this.inRange(sector, req.dataLen)) return this.finish(req, L.VIRTIO_BLK_S_IOERR);
        req.position = sector * L.SECTOR_SIZE;
        req.remaining = req.dataLen;
        return this.transfer(req);
      }
      case L.VIRTIO_BLK_T_FLUSH:
        this.stats.flushes++;
        if (ro) return this.finish(req, L.VIRTIO_BLK_S_OK);
        if (this.sync) return req.onSync(syncCall(() => fs.fdatasyncSync(this.image.fd)));
        fs.fdatasync(this.image.fd, req.onSync);
        return;
      case L.VIRTIO_BLK_T_GET_ID: {
        const n = Math.min(L.VIRTIO_BLK_ID_BYTES, chain.writableBytes - 1);
        chain.write(0, this.serial, 0, n);
        req.usedLen = n + 1;
        return this.finish(req, L.VIRTIO_BLK_S_OK);
      }
      case L.VIRTIO_BLK_T_DISCARD:
      case L.VIRTIO_BLK_T_WRITE_ZEROES:
        return this.startDiscardWriteZeroes(req, ro);
      default:
        return this.finish(req, L.VIRTIO_BLK_S_UNSUPP);
    }
  }

  /** [sector, sector + len) is whole sectors inside the image. */
  private inRange(sector: number, len: number): boolean {
    return (
      len % L.SECTOR_SIZE === 0 && sector <= this.capacity && len / L.SECTOR_SIZE <= this.capacity - sector
    );
  }

  /** Move the rest of an IN/OUT request, IO_CHUNK bytes per call: a loop in sync mode, callbacks in async. */
  private transfer(req: BlkRequest): void {
    const read = req.type === L.VIRTIO_BLK_T_IN;
    for (;;) {
      req.iov.length = 0;
      if (req.remaining === 0) {
        if (!read) this.writeBehind?.wrote(req.position - req.dataLen, req.dataLen);
        return this.finish(req, L.VIRTIO_BLK_S_OK);
      }
      const n = Math.min(req.remaining, IO_CHUNK);
      if (read) req.chain.writableViews(req.done, n, req.iov);
      else req.chain.readableViews(L.REQ_HEADER_SIZE + req.done, n, req.iov);
      if (!this.sync) {
        if (read) fs.readv(this.image.fd, req.iov, req.position, req.onIo);
        else fs.writev(this.image.fd, req.iov, req.position, req.onIo);
        return;
      }
      let moved = 0;
      let err: NodeJS.ErrnoException | null = null;
      try {
        moved = read
          ? fs.readvSync(this.image.fd, req.iov, req.position)
          : fs.writevSync(this.image.fd, req.iov, req.position);
      } catch (e) {
        err = e as NodeJS.ErrnoException;
      }
      req.iov.length = 0;
      if (!this.advance(req, err, moved)) return;
      if (this.park(req, Resume.Transfer)) return;
    }
  }

  /** Count a readv/writev's result; false when the request ended (error, or dropped by a reset). */
  private advance(req: BlkRequest, err: NodeJS.ErrnoException | null, n: number): boolean {
    if (req.epoch !== this.epoch) {
      this.release(req);
      return false;
    }
    if (err || n <= 0) {
      this.finish(req, L.VIRTIO_BLK_S_IOERR);
      return false;
    }
    if (req.type === L.VIRTIO_BLK_T_IN) this.stats.readBytes += n;
    else this.stats.writtenBytes += n;
    req.done += n;
    req.position += n;
    req.remaining -= n;
    return true;
  }

  /** @internal completion of one async readv/writev; a short one continues where it stopped. */
  ioDone(req: BlkRequest, err: NodeJS.ErrnoException | null, n: number): void {
    req.iov.length = 0;
    if (this.advance(req, err, n)) this.transfer(req);
  }

  private startDiscardWriteZeroes(req: BlkRequest, ro: boolean): void {
    const wz = req.type === L.VIRTIO_BLK_T_WRITE_ZEROES;
    const offered = !ro; // both are offered exactly when the image is writable
    if (!offered) return this.finish(req, L.VIRTIO_BLK_S_IOERR);
    const ctx = this.ctx!;
    const bitNo = wz ? L.VIRTIO_BLK_F_WRITE_ZEROES : L.VIRTIO_BLK_F_DISCARD;
    if (!hasFeature(ctx.features, bitNo)) return this.finish(req, L.VIRTIO_BLK_S_UNSUPP);
    const len = req.chain.readableBytes - L.REQ_HEADER_SIZE;
    if (len === 0 || len % L.DWZ_SEGMENT_SIZE !== 0 || len / L.DWZ_SEGMENT_SIZE > MAX_DWZ_SEGMENTS) {
      return this.finish(req, L.VIRTIO_BLK_S_IOERR);
    }
    req.segments = len / L.DWZ_SEGMENT_SIZE;
    // Each segment is read from guest memory once, checked, and kept: the guest cannot change a
    // segment between its check and its use. All are checked before the file is touched.
    for (let i = 0; i < req.segments; i++) {
      const s = this.readSegment(req, i);
      if (s !== L.VIRTIO_BLK_S_OK) return this.finish(req, s);
    }
    req.segment = 0;
    this.nextSegment(req);
  }

  /** Read segment `i` from the chain into req.segPosition/segLength[i]; returns the status it deserves. */
  private readSegment(req: BlkRequest, i: number): number {
    req.chain.read(L.REQ_HEADER_SIZE + i * L.DWZ_SEGMENT_SIZE, req.header, 0, L.DWZ_SEGMENT_SIZE);
    const h = req.headerView;
    const lo = h.getUint32(L.DWZ_SECTOR, true);
    const hi = h.getUint32(L.DWZ_SECTOR + 4, true);
    const num = h.getUint32(L.DWZ_NUM_SECTORS, true);
    const flags = h.getUint32(L.DWZ_FLAGS, true);
    // §5.2.6.2: unknown flags, or UNMAP on a DISCARD, are unsupported.
    const allowed = req.type === L.VIRTIO_BLK_T_WRITE_ZEROES ? L.VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
    if (flags & ~allowed) return L.VIRTIO_BLK_S_UNSUPP;
    if (num > MAX_DWZ_SECTORS) return L.VIRTIO_BLK_S_IOERR;
    const sector = hi > 0x1fffff / L.SECTOR_SIZE ? Number.MAX_SAFE_INTEGER : hi * 0x1_0000_0000 + lo;
    if (!this.inRange(sector, num * L.SECTOR_SIZE)) return L.VIRTIO_BLK_S_IOERR;
    req.segPosition[i] = sector * L.SECTOR_SIZE;
    req.segLength[i] = num * L.SECTOR_SIZE;
    return L.VIRTIO_BLK_S_OK;
  }

  /** Do the segments from req.segment on: a loop, never a recursion (a sync punch returns at once). */
  private nextSegment(req: BlkRequest): void {
    for (;;) {
      if (req.epoch !== this.epoch) return this.release(req);
      if (req.segment >= req.segments) return this.finish(req, L.VIRTIO_BLK_S_OK);
      const i = req.segment++;
      req.position = req.segPosition[i]!;
      req.remaining = req.segLength[i]!;
      if (req.remaining === 0) continue;
      if (!this.unmap) {
        if (req.type === L.VIRTIO_BLK_T_DISCARD) continue; // discard=ignore: DISCARD is a hint (§5.2.6)
        return this.writeZeros(req);
      }
      if (!this.sync) return punchHole(this.image.fd, req.position, req.remaining, req.onPunch);
      const punched = punchHoleSync(this.image.fd, req.position, req.remaining);
      if (!punched && req.type === L.VIRTIO_BLK_T_WRITE_ZEROES) return this.writeZeros(req);
      if (this.park(req, Resume.Segments)) return;
    }
  }

  /** @internal an async punch ended: a hole (ok), or zeros to write (a DISCARD may simply succeed). */
  punchDone(req: BlkRequest, ok: boolean): void {
    if (ok || req.type === L.VIRTIO_BLK_T_DISCARD) return this.nextSegment(req);
    this.writeZeros(req);
  }

  /** Write the current segment's zeros, ZERO_CHUNK per call: a loop in sync mode, callbacks in async. */
  private writeZeros(req: BlkRequest): void {
    this.zeros ??= new Uint8Array(ZERO_CHUNK);
    for (;;) {
      if (req.epoch !== this.epoch) return this.release(req);
      if (req.remaining === 0) return this.nextSegment(req);
      const n = Math.min(ZERO_CHUNK, req.remaining);
      if (!this.sync) return fs.write(this.image.fd, this.zeros, 0, n, req.position, req.onZeros);
      let written = 0;
      const err = syncCall(() => (written = fs.writeSync(this.image.fd, this.zeros!, 0, n, req.position)));
      if (!this.zeroed(req, err, written)) return;
      if (this.park(req, Resume.Zeros)) return;
    }
  }

  /** Count one write of zeros; false when the request ended with an error. */
  private zeroed(req: BlkRequest, err: NodeJS.ErrnoException | null, n: number): boolean {
    if (err || n <= 0) {
      this.finish(req, L.VIRTIO_BLK_S_IOERR);
      return false;
    }
    this.stats.writtenBytes += n;
    req.position += n;
    req.remaining -= n;
    return true;
  }

  /** @internal completion of one async write of zeros. */
  zerosDone(req: BlkRequest, err: NodeJS.ErrnoException | null, n: number): void {
    if (req.epoch !== this.epoch) return this.release(req);
    if (this.zeroed(req, err, n)) this.writeZeros(req);
  }

  /** @internal write the status byte and complete. */
  finish(req: BlkRequest, status: number): void {
    if (req.epoch !== this.epoch) return this.release(req);
    if (status === L.VIRTIO_BLK_S_IOERR) this.stats.errors++;
    else if (status === L.VIRTIO_BLK_S_UNSUPP) this.stats.unsupported++;
    req.status[0] = status;
    req.chain.write(req.chain.writableBytes - 1, req.status, 0, 1);
    // §5.2.6: on error the data part's content is undefined; report only the status byte for writes.
    this.complete(req, status === L.VIRTIO_BLK_S_OK ? req.usedLen : 1);
  }

  private complete(req: BlkRequest, usedLen: number): void {
    const ctx = this.ctx;
    if (ctx && req.epoch === this.epoch) {
      ctx.queues[0]!.pushUsed(req.chain.head, usedLen);
      // Inside process() the interrupt is sent once for the whole batch.
      if (!this.inProcess) this.endBatch(ctx);
    }
    this.release(req);
  }

  private startDueWriteback(): void {
    const wb = this.writeBehind;
    if (!wb || this.closed) return;
    wb.take(this.due);
    if (this.due.len === 0) return;
    this.writebacks++;
    if (this.sync) {
      if (!startWritebackSync(this.image.fd, this.due.from, this.due.len)) this.writeBehind = undefined;
      return;
    }
    this.writebacksInFlight++;
    startWriteback(this.image.fd, this.due.from, this.due.len, this.onWriteback);
  }

  private release(req: BlkRequest): void {
    if (req.epoch !== this.epoch) req.chain.unbind();
    req.resume = Resume.None;
    const wasFull = this.free.length === 0 && this.made >= this.queueMaxSizes[0]!;
    this.free.push(req);
    this.releaseOldLeases();
    if (this.closed) this.closeWhenIdle();
    else if (wasFull) this.process();
  }

  /** Give back the RAM of earlier activations once nothing of theirs is in flight. */
  private releaseOldLeases(): void {
    if (this.leases.length === 0 || this.free.length < this.made) return;
    const keep = this.ctx ? this.epoch : -1;
    this.leases = this.leases.filter((l) => l.epoch === keep || (l.release(), false));
  }
}

/** Run a synchronous fs call; its error, the way the callback forms report it. */
function syncCall(fn: () => unknown): NodeJS.ErrnoException | null {
  try {
    fn();
    return null;
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
}
