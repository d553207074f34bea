// The options of a virtio-vsock device and their checks: a value out of range is a typed error
// with the range, before anything is built.
import type { LogSink } from '@vmm/hypervisor';
import { VirtioConfigError } from '../errors';
import * as L from './layout';

export interface VsockDeviceOptions {
  /** The guest's CID (config space guest_cid): 3..2^32-2 (0-2 are reserved, 2^32-1 means any). */
  guestCid: number;
  /** QueueNumMax of the three queues: a power of two in 4..1024 (default 256, as Firecracker). */
  queueSize?: number;
  /** Connections open at once (both ways together), 1..65536 (default 1024); more are refused. */
  maxConnections?: number;
  /** Receive buffer advertised to the guest per connection (buf_alloc): 4 KiB..64 MiB, default 256 KiB. */
  bufAlloc?: number;
  /** How long connect() waits for the guest's answer (default 5000 ms). */
  connectTimeoutMs?: number;
  /** One line per event worth a user's attention (rate-limited by the caller). */
  log?: LogSink;
}

const DEFAULT_BUF_ALLOC = 256 * 1024;

/** The options with their defaults, every one checked. */
export type CheckedOptions = Required<Omit<VsockDeviceOptions, 'log'>>;

export function checkOptions(options: VsockDeviceOptions): CheckedOptions {
  const cid = options.guestCid;
  if (!Number.isInteger(cid) || cid < L.MIN_GUEST_CID || cid > L.MAX_GUEST_CID) {
    throw new VirtioConfigError(
      'EVSOCKCID',
      `virtio-vsock guest CID ${cid} is not in 3..4294967294: 0-2 are reserved (2 is the host) ` +
        'and 4294967295 means any; pick one in range',
    );
  }
  const queueSize = options.queueSize ?? 256;
  if (!(
    Number.isInteger(queueSize) &&
    queueSize >= 4 &&
    queueSize <= 1024 &&
    (queueSize & (queueSize - 1)) === 0
  )) {
    throw new VirtioConfigError(
      'EVSOCKQUEUE',
      `virtio-vsock queue size ${queueSize} is not a power of two in 4..1024: pick one that is`,
    );
  }
  const maxConnections = options.maxConnections ?? 1024;
  if (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 65536) {
    throw new VirtioConfigError(
      'EVSOCKLIMIT',
      `virtio-vsock maxConnections ${maxConnections} is not in 1..65536: pick a limit in range`,
    );
  }
  const bufAlloc = options.bufAlloc ?? DEFAULT_BUF_ALLOC;
  if (!Number.isInteger(bufAlloc) || bufAlloc < 4096 || bufAlloc > 64 * 1024 * 1024) {
    throw new VirtioConfigError(
      'EVSOCKBUF',
      `virtio-vsock bufAlloc ${bufAlloc} is not in 4096..67108864 bytes: pick a buffer size in range`,
    );
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs < 1 || connectTimeoutMs > 0x7fff_ffff) {
    throw new VirtioConfigError(
      'EVSOCKTIMEOUT',
      `virtio-vsock connectTimeoutMs ${connectTimeoutMs} is not a whole number of milliseconds in 1..2147483647`,
    );
  }
  return { guestCid: cid, queueSize, maxConnections, bufAlloc, connectTimeoutMs };
}
