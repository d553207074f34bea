// The guest side of virtio-net for model tests, over the TypeScript guest driver: posts receive
// buffers, reassembles merged receive buffers (num_buffers, §5.1.6.4), and transmits frames with a
// virtio_net_hdr (§5.1.6.2) in a separate descriptor, as Linux's virtio_net does.
import type { LogSink } from '@vmm/hypervisor';
import { makeGuest } from '../../../test/support/setup';
import { TRANSPORT_FEATURES, bit } from '../../features';
import type { NetDevice } from '../device';
import * as L from '../layout';
import { completePartial, type PartialFrame } from './frames';

export const NET_FEATURES =
  TRANSPORT_FEATURES |
  bit(L.VIRTIO_NET_F_MAC) |
  bit(L.VIRTIO_NET_F_STATUS) |
  bit(L.VIRTIO_NET_F_MRG_RXBUF) |
  bit(L.VIRTIO_NET_F_CSUM) |
  bit(L.VIRTIO_NET_F_GUEST_CSUM);

export interface Received {
  flags: number;
  gsoType: number;
  gsoSize: number;
  hdrLen: number;
  numBuffers: number;
  /** The frame; a NEEDS_CSUM checksum completed from csum_start/csum_offset, as a checking receiver would. */
  frame: Uint8Array;
}

export function netGuest(
  dev: NetDevice,
  opts: { features?: bigint; rxBufSize?: number; rxBufs?: number; log?: LogSink } = {},
) {
  const g = makeGuest(dev, { log: opts.log });
  const features = opts.features ?? NET_FEATURES;
  const negotiated = g.driver.init(features, L.DEVICE_ID_NET);
  const rxq = g.driver.setupQueue(L.RX_QUEUE);
  const txq = g.driver.setupQueue(L.TX_QUEUE);
  g.driver.driverOk();
  const rxBufSize = opts.rxBufSize ?? 1526;
  const bufAt = new Map<number, number>();

  function postRx(count: number): void {
    for (let i = 0; i < count; i++) {
      const addr = g.driver.buffer(rxBufSize, 0xee);
      bufAt.set(rxq.add([{ addr, len: rxBufSize, write: true }]), addr);
    }
    rxq.kick();
  }

  // Used buffers are copied out as soon as they are popped: popping frees their descriptor ids,
  // which the next post reuses.
  const pending: Uint8Array[] = [];
  async function take(ms: number): Promise<Uint8Array> {
    if (pending.length === 0) {
      for (const u of await rxq.waitUsed(1, ms)) pending.push(g.mem.slice(bufAt.get(u.id)!, u.len)!.slice());
    }
    return pending.shift()!;
  }

  /** The next frame on the receive queue; the buffers it used are posted again. */
  async function recv(ms = 3000): Promise<Received> {
    const parts = [await take(ms)];
    const hdr = parts[0]!;
    const numBuffers = hdr[L.HDR_NUM_BUFFERS]! | (hdr[L.HDR_NUM_BUFFERS + 1]! << 8);
    for (let i = 1; i < numBuffers; i++) parts.push(await take(ms));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    postRx(numBuffers);
    const h = new DataView(all.buffer, all.byteOffset, L.HDR_SIZE);
    const flags = h.getUint8(L.HDR_FLAGS);
    const frame = all.subarray(L.HDR_SIZE);
    if (flags & L.VIRTIO_NET_HDR_F_NEEDS_CSUM)
      completePartial(frame, h.getUint16(L.HDR_CSUM_START, true), h.getUint16(L.HDR_CSUM_OFFSET, true));
    return {
      flags,
      gsoType: h.getUint8(L.HDR_GSO_TYPE),
      gsoSize: h.getUint16(L.HDR_GSO_SIZE, true),
      hdrLen: h.getUint16(L.HDR_HDR_LEN, true),
      numBuffers,
      frame,
    };
  }

  /** Transmit: header descriptor + frame descriptor; NEEDS_CSUM when the frame carries offsets. */
  async function send(f: PartialFrame | Uint8Array, hdrPatch?: (h: DataView) => void): Promise<void> {
    const pf = f instanceof Uint8Array ? undefined : f;
    const frame = pf ? pf.frame : (f as Uint8Array);
    const hdr = new Uint8Array(L.HDR_SIZE);
    const h = new DataView(hdr.buffer);
    if (pf) {
      h.setUint8(L.HDR_FLAGS, L.VIRTIO_NET_HDR_F_NEEDS_CSUM);
      h.setUint16(L.HDR_CSUM_START, pf.csumStart, true);
      h.setUint16(L.HDR_CSUM_OFFSET, pf.csumOffset, true);
    }
    hdrPatch?.(h);
    txq.add([
      { addr: g.driver.place(hdr), len: hdr.length, write: false },
      { addr: g.driver.place(frame), len: frame.length, write: false },
    ]);
    txq.kick();
    // the transmit completes synchronously in the notify
    while (txq.popUsed());
    await Promise.resolve();
  }

  return { ...g, negotiated, rxq, txq, postRx, recv, send };
}
