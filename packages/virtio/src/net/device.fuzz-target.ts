// Fuzz target: virtio-net (virtio 1.2 §5.1.6) behind the MMIO transport: the guest's transmit queue,
// and, with loopback, its receive queue. The input is the guest's RAM around both queues
// (test/support/fuzz-guest.ts): receive queue 0, transmit queue 1, their chains, virtio-net headers
// and frames. A capturing backend takes what the device transmits.
// Input byte 0: bit 0 the backend takes offloads (as the NAT does), bit 1 loopback (each frame
// comes straight back to the guest), bit 2 VIRTIO_F_INDIRECT_DESC, bit 3 VIRTIO_F_RING_EVENT_IDX,
// bit 4 MRG_RXBUF, bit 5 CSUM (and HOST_TSO4), bit 6 GUEST_CSUM (and GUEST_TSO4), bit 7 the receive
// queue is kicked first. Byte 1: bits 0-2 and 3-5 log2 of the receive and transmit queue sizes.
// Contract: nothing throws, no device error reaches the transport, and every frame the backend
// gets is a whole Ethernet frame within the MTU (or, offloads passed, within a 64 KiB
// super-segment), its checksum left partial only for a backend that takes offloads.
import type { FramePort } from '@vmm/net';
import { ArrayGuestMemory } from '@vmm/hypervisor';
import { ImageWriter, RAM, bringUp, loadImage } from '../../test/support/fuzz-guest';
import { VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_VERSION_1, bit } from '../features';
import { MmioTransport } from '../mmio/transport';
import * as R from '../mmio/registers';
import { NetDevice } from './device';
import * as L from './layout';

const MTU = 1500;
const mem = new ArrayGuestMemory(RAM);
let loopback = false;

interface Guest {
  device: NetDevice;
  transport: MmioTransport;
  port: FramePort;
}

function guest(takesOffloads: boolean): Guest {
  let port: FramePort | undefined;
  const device = new NetDevice({
    mtu: MTU,
    queueSize: 16,
    rxBacklog: 4,
    backend: (p) => {
      port = p;
      return {
        takesOffloads,
        input: (f, n, partial) => sent(takesOffloads, f, n, partial),
        flush: () => {},
        close: () => {},
      };
    },
  });
  const transport = new MmioTransport({
    device,
    memory: mem,
    interrupt: { raise: () => {} },
    maxChainBytes: 1 << 20,
  });
  return { device, transport, port: port! };
}

const guests = [guest(false), guest(true)];
let current = guests[0]!;

/** The backend's side: one transmitted frame. */
function sent(takesOffloads: boolean, frame: Uint8Array, len: number, partial = false): void {
  const max = takesOffloads ? L.TSO_MAX_FRAME : MTU + L.ETH_OVERHEAD;
  if (len < 14 || len > frame.length || len > max) {
    throw new Error(
      `contract: a ${len}-byte frame (buffer ${frame.length}, limit ${max}) reached the backend`,
    );
  }
  if (partial && !takesOffloads)
    throw new Error('contract: a partial checksum reached a backend that takes none');
  if (loopback) current.port.send(frame, len, partial && len > MTU + 14 ? 1448 : 0);
}

export function fuzz(data: Uint8Array): void {
  if (data.length < 2) return;
  const flags = data[0]!;
  const sizes = data[1]!;
  current = guests[flags & 1]!;
  loopback = (flags & 2) !== 0;
  const t = current.transport;
  t.lastDeviceError = undefined;
  loadImage(mem, data.subarray(2));
  let features = bit(VIRTIO_F_VERSION_1) | bit(L.VIRTIO_NET_F_MAC) | bit(L.VIRTIO_NET_F_STATUS);
  if (flags & 4) features |= bit(VIRTIO_F_INDIRECT_DESC);
  if (flags & 8) features |= bit(VIRTIO_F_RING_EVENT_IDX);
  if (flags & 16) features |= bit(L.VIRTIO_NET_F_MRG_RXBUF);
  if (flags & 32) features |= bit(L.VIRTIO_NET_F_CSUM) | (flags & 1 ? bit(L.VIRTIO_NET_F_HOST_TSO4) : 0n);
  if (flags & 64)
    features |= bit(L.VIRTIO_NET_F_GUEST_CSUM) | (flags & 1 ? bit(L.VIRTIO_NET_F_GUEST_TSO4) : 0n);
  const rx = 1 << Math.min(sizes & 7, 4);
  const tx = 1 << Math.min((sizes >> 3) & 7, 4);
  if (!bringUp(t, features, [rx, tx])) throw new Error('contract: features refused');
  const order = flags & 128 ? [L.RX_QUEUE, L.TX_QUEUE] : [L.TX_QUEUE, L.RX_QUEUE];
  for (const q of order) t.mmioWrite(R.MMIO_QUEUE_NOTIFY, new Uint8Array([q, 0, 0, 0]));
  if (t.lastDeviceError !== undefined) {
    throw new Error(`contract: the device failed: ${String(t.lastDeviceError)}`, {
      cause: t.lastDeviceError,
    });
  }
}

export const maxLength = 2 + 2 * 4096;

export function close(): void {
  for (const g of guests) {
    g.transport.shutdown();
    g.device.close();
  }
}

/** A frame behind its 12-byte virtio_net_hdr (§5.1.6). */
function withHeader(
  frame: Uint8Array,
  hdr: Partial<Record<'flags' | 'gso' | 'hdrLen' | 'gsoSize' | 'start' | 'offset', number>> = {},
): Uint8Array {
  const out = new Uint8Array(L.HDR_SIZE + frame.length);
  const v = new DataView(out.buffer);
  v.setUint8(L.HDR_FLAGS, hdr.flags ?? 0);
  v.setUint8(L.HDR_GSO_TYPE, hdr.gso ?? L.VIRTIO_NET_HDR_GSO_NONE);
  v.setUint16(L.HDR_HDR_LEN, hdr.hdrLen ?? 0, true);
  v.setUint16(L.HDR_GSO_SIZE, hdr.gsoSize ?? 0, true);
  v.setUint16(L.HDR_CSUM_START, hdr.start ?? 0, true);
  v.setUint16(L.HDR_CSUM_OFFSET, hdr.offset ?? 0, true);
  out.set(frame, L.HDR_SIZE);
  return out;
}

/** An Ethernet + IPv4 + TCP frame from the guest with `data`, its TCP checksum left partial. */
function tcpFrame(data: number): Uint8Array {
  const f = new Uint8Array(14 + 20 + 20 + data);
  f.set([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00]);
  const v = new DataView(f.buffer);
  f[14] = 0x45;
  v.setUint16(16, 40 + data);
  f[22] = 64;
  f[23] = 6;
  v.setUint32(26, 0x0a00020f);
  v.setUint32(30, 0x0a000202);
  v.setUint16(34, 40000);
  v.setUint16(36, 80);
  f[46] = 0x50;
  f[47] = 0x18;
  return f;
}

export function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const offloads = 1;
  const csum = 32 | 64;
  {
    // A plain frame with NEEDS_CSUM, two receive buffers, loopback: what Linux sends and receives.
    const img = new ImageWriter([4, 4]);
    const frame = withHeader(tcpFrame(32), { flags: L.VIRTIO_NET_HDR_F_NEEDS_CSUM, start: 34, offset: 16 });
    img.chain(L.TX_QUEUE, 0, [{ addr: img.buffer(frame.length, frame), len: frame.length, write: false }]);
    img.chain(L.RX_QUEUE, 0, [{ addr: img.buffer(1526), len: 1526, write: true }]);
    img.chain(L.RX_QUEUE, 1, [{ addr: img.buffer(1526), len: 1526, write: true }]);
    out.push(img.input([2 | csum, 2 | (2 << 3)]));
  }
  {
    // A TSO super-segment (GSO_TCPV4) split over two descriptors, mergeable receive buffers.
    const img = new ImageWriter([8, 4]);
    const frame = withHeader(tcpFrame(2000), {
      flags: L.VIRTIO_NET_HDR_F_NEEDS_CSUM,
      gso: L.VIRTIO_NET_HDR_GSO_TCPV4,
      hdrLen: 54,
      gsoSize: 1448,
      start: 34,
      offset: 16,
    });
    const a = img.buffer(frame.length, frame);
    img.chain(L.TX_QUEUE, 0, [
      { addr: a, len: 100, write: false },
      { addr: a + 100, len: frame.length - 100, write: false },
    ]);
    for (let i = 0; i < 3; i++) img.chain(L.RX_QUEUE, i, [{ addr: img.buffer(800), len: 800, write: true }]);
    out.push(img.input([offloads | 2 | 4 | 8 | 16 | csum, 3 | (2 << 3)]));
  }
  {
    // Two frames through an indirect table: the header and the frame in separate descriptors.
    const img = new ImageWriter([4, 4]);
    const frame = tcpFrame(0);
    const hdr = withHeader(new Uint8Array(0));
    img.chain(
      L.TX_QUEUE,
      0,
      [
        { addr: img.buffer(hdr.length, hdr), len: hdr.length, write: false },
        { addr: img.buffer(frame.length, frame), len: frame.length, write: false },
      ],
      true,
    );
    const small = withHeader(frame.subarray(0, 14));
    img.chain(L.TX_QUEUE, 1, [{ addr: img.buffer(small.length, small), len: small.length, write: false }]);
    out.push(img.input([4, 2 | (2 << 3)]));
  }
  return out;
}
