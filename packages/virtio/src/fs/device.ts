// virtio-fs (virtio 1.2 §5.11): a host directory shared with the guest, served in-process by the
// FUSE server (server.ts). Queue 0 is the hiprio queue (FORGET, BATCH_FORGET, INTERRUPT: no reply),
// queues 1..n the request queues (§5.11.2). Each chain is one FUSE request: the device-readable part
// is fuse_in_header and its arguments, the device-writable part receives fuse_out_header and its
// payload (§5.11.6.1). The configuration space carries the tag the guest mounts by (§5.11.4).
import type { DeviceContext, DeviceThreadSpec, VirtioDevice } from '../device';
import { fsConst as C, type SyscallName } from '@vmm/hypervisor';
import { TRANSPORT_FEATURES } from '../features';
import type { RegionViews } from '../memory/region-views';
import { DescriptorChain } from '../queue/chain';
import { ChainIo } from './chain-io';
import { EIO } from './errno';
import { FsShareError } from './errors';
import { FUSE_WRITE, IN_HEADER, OUT_HEADER, WRITE_HEAD } from './layout';
import type { FuseServerOptions } from './options';
import { FuseServer } from './server';
import { fsSessionFault, type FsSessionState } from './session';

/** Device ID of the file system device (virtio 1.2 §5.11.1). */
export const DEVICE_ID_FS = 26;

/** struct virtio_fs_config (virtio 1.2 §5.11.4), without notify_buf_size (VIRTIO_FS_F_NOTIFICATION
 *  is not offered): the tag, UTF-8, NUL-padded, not NUL-terminated when it fills all 36 bytes. */
export const FS_CONFIG = { size: 40, fields: { tag: 0, num_request_queues: 36 } } as const;
export const FS_TAG_MAX = 36;

/**
 * What the device's thread asks of the kernel (its seccomp allow-list): the *at() file calls, as
 * glibc makes them (renameat2 with no flags is renameat; fstatvfs is fstatfs).
 */
export const FS_THREAD_SYSCALLS: readonly SyscallName[] = [
  'openat',
  'openat2',
  'open_tree',
  'close',
  'statx',
  'mkdirat',
  'mknodat',
  'symlinkat',
  'readlinkat',
  'unlinkat',
  'renameat',
  'renameat2',
  'linkat',
  'fchmodat',
  'fchmod',
  'fchownat',
  'fchown',
  'utimensat',
  'ftruncate',
  'pread64',
  'pwrite64',
  'preadv',
  'pwritev',
  'fsync',
  'fdatasync',
  'fallocate',
  'lseek',
  'getdents64',
  'fstatfs',
  'getxattr',
  'setxattr',
  'listxattr',
  'removexattr',
];

export interface FsDeviceOptions extends Omit<FuseServerOptions, 'log'> {
  /** The name the guest mounts the share by (`mount -t virtiofs TAG /mnt`): 1 to 36 bytes of UTF-8. */
  tag: string;
  /** QueueNumMax of each queue (default 128). */
  queueSize?: number;
  /**
   * Where the server's warnings go before the device runs (its descriptor budget, at start):
   * the VM's log. Once it runs they go through its context. 'drop': a device thread's copy, whose
   * model in the main thread said them already. Default: stderr.
   */
  startLog?: ((kind: string, line: string) => void) | 'drop';
}

/** A virtio-fs device built from FsDevice.threadSpec() in its thread. */
export function createFsDevice(options: FsDeviceOptions): FsDevice {
  return new FsDevice(options);
}

const NUM_REQUEST_QUEUES = 1;

export class FsDevice implements VirtioDevice {
  readonly deviceId = DEVICE_ID_FS;
  readonly features = TRANSPORT_FEATURES;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = FS_CONFIG.size;
  readonly server: FuseServer;
  private readonly config = new Uint8Array(FS_CONFIG.size);
  private readonly request: Uint8Array;
  private readonly chains: DescriptorChain[];
  /** READ and WRITE data straight between the host file and the chain's guest buffers. */
  private readonly io = new ChainIo();
  private ctx: DeviceContext | undefined;
  private paused = false;
  /** Chains answered with a bare EIO because their writable part could not hold the reply. */
  private shortReplies = 0;
  /** What a restore left out, said once the device has a log (at activation). */
  private restoreNotice: string | undefined;

  constructor(private readonly options: FsDeviceOptions) {
    const tag = new TextEncoder().encode(options.tag ?? '');
    if (tag.length === 0 || tag.length > FS_TAG_MAX || tag.includes(0))
      throw new FsShareError('FS_TAG', `virtio-fs tag "${options.tag}" must be 1 to 36 bytes, without NUL`);
    const size = options.queueSize ?? 128;
    this.queueMaxSizes = Array.from({ length: 1 + NUM_REQUEST_QUEUES }, () => size);
    // Once the device runs, the server's warnings go where the device's do (a thread's cross to the
    // VM's log); before that (the descriptor budget at start), to startLog.
    const { startLog } = options;
    this.server = new FuseServer({
      ...options,
      log: (line, kind) => {
        const text = line.replace(/^vmm fs: /, '');
        if (this.ctx?.log) this.ctx.log(`fs-${kind}`, text);
        else if (typeof startLog === 'function') startLog(`fs-${kind}`, text);
        else if (startLog !== 'drop') console.warn(line);
      },
    });
    this.request = new Uint8Array(Math.max(this.server.maxRequestSize, 72 * 1024));
    this.chains = this.queueMaxSizes.map((n) => new DescriptorChain(n));
    this.config.set(tag, FS_CONFIG.fields.tag);
    new DataView(this.config.buffer).setUint32(FS_CONFIG.fields.num_request_queues, NUM_REQUEST_QUEUES, true);
  }

  get stats(): Readonly<Record<string, number>> {
    const s = this.server.stats;
    return {
      ...s,
      shortReplies: this.shortReplies,
      directReads: this.io.reads,
      directWrites: this.io.writes,
      ...this.server.held,
    };
  }

  /** Served from its own I/O thread: the same share, opened there; options are plain data. */
  threadSpec(): DeviceThreadSpec {
    return {
      module: '@vmm/virtio/fs',
      exportName: 'createFsDevice',
      options: { ...this.options, startLog: 'drop' },
      syscalls: FS_THREAD_SYSCALLS,
    };
  }

  readConfig(offset: number, data: Uint8Array): void {
    data.set(this.config.subarray(offset, offset + data.length));
  }

  /** §5.11.4: the driver never writes the configuration space. */
  writeConfig(): void {}

  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
    if (this.restoreNotice) ctx.log?.('fs-restore', this.restoreNotice);
    this.restoreNotice = undefined;
    for (let i = 0; i < ctx.queues.length; i++) this.queueNotify(i);
  }

  /** Serves up to a queue's worth of requests from queue `index`, then requeues the rest. */
  queueNotify(index: number): void {
    const ctx = this.ctx;
    const q = ctx?.queues[index];
    const chain = this.chains[index];
    if (!ctx || !q || !chain || this.paused) return;
    let budget = q.size;
    do {
      for (;;) {
        if (budget-- <= 0) {
          ctx.signalUsed(index);
          if (q.hasAvailable()) ctx.requeue(index);
          return;
        }
        const r = q.pop(chain);
        if (r === 'broken') return ctx.needsReset();
        if (r === 'empty') break;
        q.pushUsed(chain.head, this.serve(chain, ctx.views));
      }
      ctx.signalUsed(index);
    } while (q.enableNotification());
  }

  /** One request chain through the server: the reply's length in the chain's writable part. */
  private serve(chain: DescriptorChain, views: RegionViews): number {
    const request = this.request;
    const readable = Math.min(chain.readableBytes, request.length);
    // A WRITE with data: only its header and fuse_write_in are copied (the opcode is read from our
    // copy, which is what the server parses); pwritev takes the data from guest memory. Chains with
    // more buffers than one pwritev takes are copied whole.
    let n = chain.read(0, request, 0, Math.min(readable, WRITE_HEAD));
    const direct =
      n === WRITE_HEAD &&
      readable > WRITE_HEAD &&
      chain.firstWritable <= C.IOV_MAX &&
      this.opcodeOf(request) === FUSE_WRITE;
    if (!direct && readable > n) n += chain.read(n, request, n, readable - n);
    const room = chain.writableBytes;
    this.io.bind(chain, views, direct);
    const len = this.server.handle(request, direct ? readable : n, room, this.io);
    this.io.unbind();
    if (len === 0) return 0;
    const reply = this.server.reply;
    // READ's data is already in the chain, after the header (the server cut it to `room`).
    if (this.server.payloadPlaced)
      return chain.write(0, reply, 0, OUT_HEADER.size) === OUT_HEADER.size ? len : 0;
    if (len <= room) return chain.write(0, reply, 0, len);
    // A fixed-size reply the guest left no room for: a bare EIO, if even that fits.
    this.shortReplies++;
    this.ctx?.log?.(
      'fs-short-reply',
      `the guest gave ${room} bytes for a ${len}-byte reply (opcode ${this.opcodeOf(request)}): it gets EIO`,
    );
    if (room < OUT_HEADER.size) return 0;
    const dv = new DataView(reply.buffer, reply.byteOffset);
    dv.setUint32(OUT_HEADER.fields.len, OUT_HEADER.size, true);
    dv.setInt32(OUT_HEADER.fields.error, -EIO, true);
    return chain.write(0, reply, 0, OUT_HEADER.size);
  }

  private opcodeOf(request: Uint8Array): number {
    const at = IN_HEADER.fields.opcode;
    return (
      (request[at]! | (request[at + 1]! << 8) | (request[at + 2]! << 16) | (request[at + 3]! << 24)) >>> 0
    );
  }

  /** The guest's FUSE session (its node ids and open files), for a snapshot. */
  saveState(): FsSessionState {
    return this.server.saveSession();
  }

  stateFault(state: unknown): string | undefined {
    const o = this.server.options;
    return fsSessionFault(state, o.maxNodes, o.maxHandles);
  }

  /** The session a snapshot kept; what is gone from the share since is said on the VM's log. */
  restoreState(state: unknown): void {
    const n = this.server.restoreSession(state);
    if (n.stale > 0)
      this.restoreNotice =
        `restored ${n.nodes} files and ${n.handles} open files of the guest's; ${n.stale} were gone from ` +
        'the share or had changed kind since the snapshot: the guest gets ESTALE or EBADF for them';
  }

  /** Device reset: the guest's FUSE session is over (nodes and open files let go; INIT again). */
  reset(): void {
    this.ctx = undefined;
    for (const c of this.chains) c.unbind();
    this.server.reset();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    if (this.ctx) for (let i = 0; i < this.ctx.queues.length; i++) this.queueNotify(i);
  }

  close(): void {
    this.server.close();
  }
}
