// Fuzz target: virtio-vsock (virtio 1.2 §5.10.6) behind the MMIO transport. The input is the
// guest's RAM around its rx queue 0 and tx queue 1 (test/support/fuzz-guest.ts): their chains,
// packet headers and payloads; the event queue is left unset, as a driver may. The host listens
// on ports 1 and 1024 (echoing what it reads back to the guest, or ending at once) and may connect() to the guest.
// Input byte 0: bit 0 VIRTIO_F_INDIRECT_DESC, bit 1 VIRTIO_F_RING_EVENT_IDX, bit 2 the rx queue
// is kicked first, bit 3 the host connect()s to the guest port in byte 2 first (the tx ring's
// chains are published after its REQUEST), bit 4 a small (4 KiB) buf_alloc, bit 5 the host ends
// every stream it accepts at once, bit 6 a device reset after the kicks, bit 7 every other port is
// taken through listenAny and answered after the kicks (even ports accepted, odd refused).
// Byte 1: bits 0-2 and 3-5 log2 of the rx and tx queue sizes.
// Contract: nothing throws, no device error reaches the transport, no host stream holds more
// than buf_alloc, and every rx buffer the device returns holds nothing or a whole packet (44-byte
// header and at most 64 KiB).
import type { Duplex } from 'node:stream';
import { ArrayGuestMemory } from '@vmm/hypervisor';
import { ImageWriter, RAM, bringUp, loadImage, queueRings } from '../../test/support/fuzz-guest';
import { VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_VERSION_1, bit } from '../features';
import * as R from '../mmio/registers';
import { MmioTransport } from '../mmio/transport';
import * as Q from '../queue/layout';
import { VsockDevice, type VsockRequest } from './device';
import * as L from './layout';
import { PacketHeader } from './packet';

const CID = 3;
const mem = new ArrayGuestMemory(RAM);
const streams: Duplex[] = [];
const requests: VsockRequest[] = [];
let device: VsockDevice | undefined;
let transport: MmioTransport | undefined;
let bufAlloc = 0;
let endAtOnce = false;

const ignore = (): void => {};

function accept(s: Duplex): void {
  streams.push(s);
  s.on('error', ignore);
}

/** The host echoes what it can read now, synchronously (a stream's own flowing mode waits a tick). */
function echo(): void {
  for (const r of requests.splice(0)) {
    if (r.hostPort & 1) r.refuse();
    else {
      const s = r.accept();
      if (s) accept(s);
    }
  }
  for (const s of streams) {
    if (s.destroyed) continue;
    for (let c: unknown = s.read(); c !== null; c = s.read()) if (s.writable) s.write(c as Buffer);
    if (endAtOnce && s.writable) s.end();
  }
}

/** A fresh device per input: its ephemeral ports and state do not depend on earlier inputs. */
function fresh(flags: number): { device: VsockDevice; transport: MmioTransport } {
  close();
  bufAlloc = flags & 16 ? 4096 : 64 * 1024;
  endAtOnce = (flags & 32) !== 0;
  const d = new VsockDevice({
    guestCid: CID,
    queueSize: 16,
    maxConnections: 8,
    bufAlloc,
    connectTimeoutMs: 1000,
  });
  d.listen(1, accept);
  d.listen(1024, accept);
  if (flags & 128) d.listenAny((r) => requests.push(r));
  const t = new MmioTransport({
    device: d,
    memory: mem,
    interrupt: { raise: () => {} },
    maxChainBytes: 1 << 20,
  });
  // Every rx buffer the device returns holds nothing (a bad buffer) or a whole packet. Checked as
  // it is pushed: the guest may well point a buffer at its own used ring.
  const rxq = t.queues[L.RX_QUEUE]!;
  const push = rxq.pushUsed.bind(rxq);
  rxq.pushUsed = (head: number, len: number): void => {
    if (len !== 0 && (len < L.HDR_SIZE || len > L.HDR_SIZE + L.MAX_PKT_PAYLOAD))
      throw new Error(`contract: an rx buffer came back with ${len} bytes, not a whole packet`);
    push(head, len);
  };
  device = d;
  transport = t;
  return { device: d, transport: t };
}

export function fuzz(data: Uint8Array): void {
  if (data.length < 3) return;
  const flags = data[0]!;
  const sizes = data[1]!;
  const { device: d, transport: t } = fresh(flags);
  loadImage(mem, data.subarray(3));
  let features = bit(VIRTIO_F_VERSION_1) | bit(L.VIRTIO_VSOCK_F_STREAM);
  if (flags & 1) features |= bit(VIRTIO_F_INDIRECT_DESC);
  if (flags & 2) features |= bit(VIRTIO_F_RING_EVENT_IDX);
  const rx = 1 << Math.min(sizes & 7, 4);
  const tx = 1 << Math.min((sizes >> 3) & 7, 4);
  // With a host connect(), the guest's tx chains are published after the REQUEST went out (its
  // RESPONSE makes sense only then): tx avail idx is held at 0 through activation.
  const txIdx = queueRings(L.TX_QUEUE).avail + Q.AVAIL_IDX;
  const published = mem.readU16(txIdx);
  if (flags & 8) mem.writeU16(txIdx, 0);
  if (!bringUp(t, features, [rx, tx])) throw new Error('contract: features refused');
  if (flags & 8) {
    // The stream it resolves with is kept like an accepted one (its errors handled, echoed to).
    d.connect(data[2]!).then(accept, ignore);
    t.mmioWrite(R.MMIO_QUEUE_NOTIFY, new Uint8Array([L.RX_QUEUE, 0, 0, 0]));
    mem.writeU16(txIdx, published);
  }
  const order = flags & 4 ? [L.RX_QUEUE, L.TX_QUEUE] : [L.TX_QUEUE, L.RX_QUEUE];
  for (const q of order) t.mmioWrite(R.MMIO_QUEUE_NOTIFY, new Uint8Array([q, 0, 0, 0]));
  echo();
  // The echoes go out into whatever rx buffers are left.
  t.mmioWrite(R.MMIO_QUEUE_NOTIFY, new Uint8Array([L.RX_QUEUE, 0, 0, 0]));
  for (const s of streams) {
    if (s.readableLength > bufAlloc)
      throw new Error(`contract: a host stream holds ${s.readableLength} bytes, over buf_alloc ${bufAlloc}`);
  }
  if (flags & 64) t.mmioWrite(R.MMIO_STATUS, new Uint8Array(4));
  if (t.lastDeviceError !== undefined) {
    throw new Error(`contract: the device failed: ${String(t.lastDeviceError)}`, {
      cause: t.lastDeviceError,
    });
  }
}

export const maxLength = 3 + 2 * 4096;

export function close(): void {
  requests.length = 0;
  for (const s of streams.splice(0)) s.destroy();
  device?.close();
  transport?.shutdown();
  device = transport = undefined;
}

/** A stream packet from the guest (CID 3) to the host (CID 2). */
function pkt(srcPort: number, dstPort: number, op: number, payload = 0, flags = 0): Uint8Array {
  const h = new PacketHeader().set(CID, srcPort, L.VMADDR_CID_HOST, dstPort, op, payload, flags, 65536, 0);
  const out = new Uint8Array(L.HDR_SIZE + payload);
  out.set(h.encode());
  for (let i = 0; i < payload; i++) out[L.HDR_SIZE + i] = 0x61 + (i % 26);
  return out;
}

export function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const rxBuffers = (img: ImageWriter, n: number, split: boolean): void => {
    for (let i = 0; i < n; i++) {
      if (split) {
        img.chain(L.RX_QUEUE, 2 * i, [
          { addr: img.buffer(L.HDR_SIZE), len: L.HDR_SIZE, write: true },
          { addr: img.buffer(128), len: 128, write: true },
        ]);
      } else
        img.chain(L.RX_QUEUE, i, [{ addr: img.buffer(L.HDR_SIZE + 64), len: L.HDR_SIZE + 64, write: true }]);
    }
  };
  {
    // Linux connecting to host port 1024: REQUEST, RW of 16 bytes (header and payload in two
    // descriptors), SHUTDOWN SEND; the echo comes back into split rx buffers.
    const img = new ImageWriter([8, 8]);
    rxBuffers(img, 4, true);
    const req = pkt(5000, 1024, L.VIRTIO_VSOCK_OP_REQUEST);
    img.chain(L.TX_QUEUE, 0, [{ addr: img.buffer(req.length, req), len: req.length, write: false }]);
    const rw = pkt(5000, 1024, L.VIRTIO_VSOCK_OP_RW, 16);
    const a = img.buffer(rw.length, rw);
    img.chain(L.TX_QUEUE, 1, [
      { addr: a, len: L.HDR_SIZE, write: false },
      { addr: a + L.HDR_SIZE, len: 16, write: false },
    ]);
    const shut = pkt(5000, 1024, L.VIRTIO_VSOCK_OP_SHUTDOWN, 0, L.VIRTIO_VSOCK_SHUTDOWN_SEND);
    img.chain(L.TX_QUEUE, 3, [{ addr: img.buffer(shut.length, shut), len: shut.length, write: false }]);
    out.push(img.input([2, 3 | (3 << 3), 0]));
  }
  {
    // The host connects to guest port 80 (its REQUEST from host port 2^30); the guest answers
    // RESPONSE, sends data and asks for credit, through an indirect table.
    const img = new ImageWriter([4, 4]);
    rxBuffers(img, 4, false);
    const resp = pkt(80, 0x4000_0000, L.VIRTIO_VSOCK_OP_RESPONSE);
    img.chain(L.TX_QUEUE, 0, [{ addr: img.buffer(resp.length, resp), len: resp.length, write: false }], true);
    const rw = pkt(80, 0x4000_0000, L.VIRTIO_VSOCK_OP_RW, 8);
    img.chain(L.TX_QUEUE, 1, [{ addr: img.buffer(rw.length, rw), len: rw.length, write: false }]);
    const cr = pkt(80, 0x4000_0000, L.VIRTIO_VSOCK_OP_CREDIT_REQUEST);
    img.chain(L.TX_QUEUE, 2, [{ addr: img.buffer(cr.length, cr), len: cr.length, write: false }]);
    out.push(img.input([1 | 4 | 8, 2 | (2 << 3), 80]));
  }
  {
    // Strays: a REQUEST to a port with no listener, an RW for no connection, a seqpacket REQUEST,
    // a header cut short; a 4 KiB buf_alloc, a device reset at the end.
    const img = new ImageWriter([4, 8]);
    rxBuffers(img, 4, false);
    const packets = [
      pkt(7, 9999, L.VIRTIO_VSOCK_OP_REQUEST),
      pkt(8, 1, L.VIRTIO_VSOCK_OP_RW, 4),
      pkt(9, 1, L.VIRTIO_VSOCK_OP_REQUEST),
      pkt(9, 1, L.VIRTIO_VSOCK_OP_RW, 200),
    ];
    const seq = pkt(10, 1, L.VIRTIO_VSOCK_OP_REQUEST);
    seq[L.HDR_TYPE] = L.VIRTIO_VSOCK_TYPE_SEQPACKET;
    packets.push(seq, pkt(11, 1, L.VIRTIO_VSOCK_OP_RW).subarray(0, 30));
    packets.forEach((p, i) =>
      img.chain(L.TX_QUEUE, i, [{ addr: img.buffer(p.length, p), len: p.length, write: false }]),
    );
    out.push(img.input([16 | 64, 2 | (3 << 3), 0]));
    // The same strays with listenAny: port 9999's REQUEST waits for an answer (refused: odd).
    out.push(img.input([16 | 128, 2 | (3 << 3), 0]));
  }
  return out;
}
