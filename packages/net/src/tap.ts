// The tap frontend: /dev/net/tun with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (Documentation/networking/
// tuntap.rst), one Ethernet frame per read(2)/write(2), each behind a struct virtio_net_hdr
// (vnet-hdr.ts). TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4) lets the kernel hand us TCP/UDP with
// partial checksums (NEEDS_CSUM: not verified here) and TCP super-segments of up to 64 KiB whatever
// the MTU, and take ours the same way: no checksum of data in JavaScript, and one frame (one
// read or write) per 64 KiB of TCP data instead of one per MTU. The fd is non-blocking; when it is
// empty, poll(2) waits on a worker thread (koffi async), so the event loop never blocks. A batch
// of frames is drained per wake-up and followed by `flush()`; the loop yields to the event loop
// every BATCH frames. For a short while after a frame (`busyPollUs`) the device is read again from
// the event loop instead (setImmediate, non-blocking read): the answer to a request usually comes
// within that time, and the thread hop of poll(2) costs a request/response round trip ~30 µs.
import { EventEmitter } from 'node:events';
import { NetConfigError, NetSysError } from './errors';
import type { FramePort, FrameSink } from './frame-port';
import {
  EAGAIN,
  EINTR,
  netLibc,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
} from './sys';
import { ETH_HLEN } from './ethernet';
import { IPV4_MAX_TOTAL } from './ipv4';
import { writeTcpOffloadHdr } from './tcp-frame';
import {
  VIRTIO_NET_HDR_F_DATA_VALID,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_LEN,
  readVnetHdr,
  writeVnetHdr,
} from './vnet-hdr';

// linux/if_tun.h: TUNSETIFF = _IOW('T', 202, int); struct ifreq (40 bytes): ifr_name[16], ifr_flags
const TUNSETIFF = 0x400454ca;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
// TUNSETOFFLOAD = _IOW('T', 208, unsigned int); TUN_F_CSUM: partially checksummed frames;
// TUN_F_TSO4: TCP/IPv4 super-segments (we take them from the kernel, and it takes ours)
const TUNSETOFFLOAD = 0x400454d0;
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;
const BATCH = 256;
const POLL_MS = 250;
const DEFAULT_BUSY_POLL_US = 200;
/** A frame's largest size: Ethernet header, one 802.1Q tag, the largest IPv4 datagram. */
const MAX_FRAME = ETH_HLEN + 4 + IPV4_MAX_TOTAL;

export interface TapEvents {
  /** the device went away (its namespace was deleted) or a read failed */
  closed: [reason: string];
}

export interface TapOptions {
  /**
   * Checksum and segmentation offload with the kernel (default true). False: every frame either
   * way has complete checksums and fits the MTU (for frames that pass through unchanged).
   */
  offloads?: boolean;
  /**
   * How long after a frame the device is polled from the event loop before poll(2) waits on a
   * thread, in µs (default 200; 0: never). Like Linux's SO_BUSY_POLL: a little CPU for latency.
   */
  busyPollUs?: number;
}

export class TapDevice extends EventEmitter<TapEvents> implements FramePort {
  readonly name: string;
  /** TCP frames we send carry only the pseudo-header sum; the kernel treats them as CHECKSUM_PARTIAL. */
  readonly offloadsChecksum: boolean;
  /** TCP super-segments go to the kernel whole (gso_type TCPV4); its stack takes them as they are. */
  readonly tso: boolean;
  private readonly rx = new Uint8Array(VIRTIO_NET_HDR_LEN + MAX_FRAME);
  private readonly rxFrame = this.rx.subarray(VIRTIO_NET_HDR_LEN);
  private readonly tx = new Uint8Array(VIRTIO_NET_HDR_LEN + MAX_FRAME);
  /** FramePort.txFrame: frames built here are sent without a copy */
  readonly txFrame = this.tx.subarray(VIRTIO_NET_HDR_LEN);
  framesDropped = 0;
  private readonly pollfd = new Uint8Array(8);
  private sink: FrameSink | undefined;
  private running = false;
  private polling = false;
  private drainQueued = false;
  private readonly pollView = new DataView(this.pollfd.buffer);
  private fd: number;
  private readonly busyPollMs: number;
  private lastFrameAt = 0;
  writeErrors = 0;

  /** Opens /dev/net/tun and creates (or attaches to) tap `name` in the calling thread's namespace. */
  constructor(name: string, options: TapOptions = {}) {
    super();
    const offloads = options.offloads ?? true;
    this.offloadsChecksum = this.tso = offloads;
    const busy = options.busyPollUs ?? DEFAULT_BUSY_POLL_US;
    if (!(Number.isFinite(busy) && busy >= 0 && busy <= 1_000_000))
      throw new NetConfigError(`tap busy-poll time ${busy} µs is out of range: use 0 to 1000000`);
    this.busyPollMs = busy / 1000;
    const libc = netLibc();
    if (Buffer.byteLength(name) >= IFNAMSIZ || name.length === 0)
      throw new NetSysError('TUNSETIFF', 22, `tap name '${name}' must be 1 to 15 bytes`);
    const fd = libc.open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      const e = libc.errno();
      throw new NetSysError(
        'open',
        e,
        `cannot open /dev/net/tun: ${libc.strerror(e)} (load the tun module, and run as root or with CAP_NET_ADMIN)`,
      );
    }
    const ifr = new Uint8Array(IFREQ_SIZE);
    ifr.set(Buffer.from(name), 0);
    new DataView(ifr.buffer).setUint16(IFNAMSIZ, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, true);
    if (libc.ioctl(fd, TUNSETIFF, ifr) < 0) {
      const e = libc.errno();
      libc.close(fd);
      throw new NetSysError(
        'TUNSETIFF',
        e,
        `cannot create tap device '${name}': ${libc.strerror(e)} (is the name taken by a device of another kind?)`,
      );
    }
    if (libc.ioctlValue(fd, TUNSETOFFLOAD, offloads ? TUN_F_CSUM | TUN_F_TSO4 : 0) < 0) {
      const e = libc.errno();
      libc.close(fd);
      throw new NetSysError(
        'TUNSETOFFLOAD',
        e,
        `cannot enable checksum and segmentation offload on tap '${name}': ${libc.strerror(e)}`,
      );
    }
    this.fd = fd;
    const end = ifr.indexOf(0);
    this.name = Buffer.from(ifr.subarray(0, end < 0 ? IFNAMSIZ : end)).toString();
    this.pollView.setInt32(0, fd, true);
    this.pollView.setInt16(4, POLLIN, true);
  }

  /** Frames to the guest (the namespace's kernel); `gsoSize` > 0: a TCP super-segment (FramePort). */
  send(frame: Uint8Array, length: number, gsoSize = 0): void {
    if (this.fd < 0) return;
    const len = Math.min(length, frame.length, this.txFrame.length);
    // a TCP segment over IPv4 carries only its pseudo-header sum (FramePort.offloadsChecksum)
    if (!(this.offloadsChecksum && writeTcpOffloadHdr(this.tx, frame, len, gsoSize)))
      writeVnetHdr(this.tx, 0, 0, 0);
    if (frame.buffer !== this.tx.buffer || frame.byteOffset !== this.txFrame.byteOffset)
      this.txFrame.set(len === frame.length ? frame : frame.subarray(0, len));
    if (netLibc().write(this.fd, this.tx, VIRTIO_NET_HDR_LEN + len) < 0) this.writeErrors++;
    // the kernel usually answers (an ACK) during write(2) itself: read it without waiting for poll
    if (!this.drainQueued && this.running) {
      this.drainQueued = true;
      setImmediate(this.drain);
    }
  }

  /** Starts feeding frames from the device to `sink`. */
  start(sink: FrameSink): void {
    this.sink = sink;
    this.running = true;
    this.drain();
  }

  private drain = (): void => {
    this.drainQueued = false;
    if (!this.running || !this.sink) return;
    const libc = netLibc();
    let n = 0;
    for (; n < BATCH; n++) {
      const got = libc.read(this.fd, this.rx, this.rx.length);
      if (got < 0) {
        const e = libc.errno();
        if (e === EAGAIN || e === EINTR) break;
        this.sink.flush();
        this.fail(`read failed: ${libc.strerror(e)}`);
        return;
      }
      const hdr = readVnetHdr(this.rx, got);
      const gso = (hdr >>> 8) & ~VIRTIO_NET_HDR_GSO_ECN;
      if (hdr < 0 || (gso !== VIRTIO_NET_HDR_GSO_NONE && gso !== VIRTIO_NET_HDR_GSO_TCPV4)) {
        this.framesDropped++; // short, or a kind of GSO we never enabled
        continue;
      }
      const valid = (hdr & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) !== 0;
      this.sink.input(this.rxFrame, got - VIRTIO_NET_HDR_LEN, valid);
    }
    this.sink.flush();
    const now = performance.now();
    if (n > 0) this.lastFrameAt = now;
    if (n === BATCH || now - this.lastFrameAt < this.busyPollMs) {
      if (!this.drainQueued) {
        this.drainQueued = true;
        setImmediate(this.drain);
      }
    } else this.wait();
  };

  /** One poll(2) at a time on a worker thread; its completion drains the device. */
  private wait(): void {
    if (this.polling) return;
    this.polling = true;
    netLibc().pollAsync(this.pollfd, 1, POLL_MS, (err, res) => {
      this.polling = false;
      if (!this.running) return;
      if (err) return this.fail(`poll failed: ${String(err)}`);
      const revents = this.pollView.getInt16(6, true);
      if (res > 0 && revents & (POLLERR | POLLHUP | POLLNVAL)) return this.fail('the tap device went away');
      this.drain();
    });
  }

  private fail(reason: string): void {
    this.running = false;
    this.emit('closed', reason);
  }

  /** Stops reading and closes the device (a non-persistent tap disappears with it). */
  close(): void {
    this.running = false;
    if (this.fd >= 0) {
      netLibc().close(this.fd);
      this.fd = -1;
    }
  }
}
