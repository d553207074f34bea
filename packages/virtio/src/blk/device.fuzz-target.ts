// Fuzz target: virtio-blk request handling (virtio 1.2 §5.2.6) behind the MMIO transport, with
// synchronous I/O on a 64 KiB image in a temporary folder. The input is the guest's RAM around the
// request queue (test/support/fuzz-guest.ts): the requests, their headers, data and status bytes.
// Input byte 0: bits 0-2 log2 of the queue size (1..16), bit 3 VIRTIO_F_INDIRECT_DESC, bit 4
// VIRTIO_F_RING_EVENT_IDX, bit 5 DISCARD, bit 6 WRITE_ZEROES, bit 7 FLUSH; byte 1: bits 0-1 kicks
// (1..4), bits 2-7 the answers of `interrupted` (the I/O thread's owner wanting it back, which parks
// a request until the next kick), one bit per call, repeating; then RAM. Contract: nothing throws, no device error reaches the transport (lastDeviceError), and
// the image keeps its size whatever the guest asks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArrayGuestMemory } from '@vmm/hypervisor';
import { ImageWriter, RAM, bringUp, loadImage } from '../../test/support/fuzz-guest';
import { VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_VERSION_1, bit } from '../features';
import { MmioTransport } from '../mmio/transport';
import * as R from '../mmio/registers';
import { BlkDevice } from './device';
import * as L from './layout';

const IMAGE_SIZE = 64 * 1024;
// tmpfs where there is one: a FLUSH is then an fdatasync that costs nothing.
const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'vmm-fuzz-blk-'));
const file = path.join(dir, 'disk.img');
fs.writeFileSync(file, new Uint8Array(IMAGE_SIZE));
let interruptions = 0;
let asked = 0;
const device = new BlkDevice({
  path: file,
  io: 'sync',
  queueSize: 16,
  serial: 'fuzz-disk',
});
const mem = new ArrayGuestMemory(RAM);
const transport = new MmioTransport({
  device,
  memory: mem,
  interrupt: { raise: () => {} },
  maxChainBytes: 1 << 20,
  interrupted: () => ((interruptions >> (asked++ % 6)) & 1) === 1,
});
const kick = new Uint8Array(4);

export function fuzz(data: Uint8Array): void {
  if (data.length < 2) return;
  const flags = data[0]!;
  transport.lastDeviceError = undefined;
  interruptions = data[1]! >> 2;
  asked = 0;
  loadImage(mem, data.subarray(2));
  let features = bit(VIRTIO_F_VERSION_1);
  if (flags & 8) features |= bit(VIRTIO_F_INDIRECT_DESC);
  if (flags & 16) features |= bit(VIRTIO_F_RING_EVENT_IDX);
  if (flags & 32) features |= bit(L.VIRTIO_BLK_F_DISCARD);
  if (flags & 64) features |= bit(L.VIRTIO_BLK_F_WRITE_ZEROES);
  if (flags & 128) features |= bit(L.VIRTIO_BLK_F_FLUSH);
  if (!bringUp(transport, features, [1 << Math.min(flags & 7, 4)]))
    throw new Error('contract: features refused');
  for (let k = (data[1]! & 3) + 1; k > 0; k--) transport.mmioWrite(R.MMIO_QUEUE_NOTIFY, kick);
  if (transport.lastDeviceError !== undefined) {
    throw new Error(`contract: the device failed: ${String(transport.lastDeviceError)}`, {
      cause: transport.lastDeviceError,
    });
  }
  const size = fs.fstatSync(device.image.fd).size;
  if (size !== IMAGE_SIZE) throw new Error(`contract: the image is now ${size} bytes, not ${IMAGE_SIZE}`);
}

export const maxLength = 2 + 2 * 4096;

export function close(): void {
  transport.shutdown();
  device.close();
  removeImage();
}

function removeImage(): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
// A run that ends without close() (a crash, a hang) leaves no image behind either.
process.once('exit', removeImage);

/** A request (§5.2.6): header, data segments, status byte; its chain made available. */
function request(
  img: ImageWriter,
  head: number,
  type: number,
  sector: number,
  data: { len: number; write: boolean; bytes?: Uint8Array }[],
  indirect = false,
): void {
  const header = new Uint8Array(L.REQ_HEADER_SIZE);
  const v = new DataView(header.buffer);
  v.setUint32(L.REQ_TYPE, type, true);
  v.setUint32(L.REQ_SECTOR, sector, true);
  const segments = [
    { addr: img.buffer(16, header), len: 16, write: false },
    ...data.map((d) => ({ addr: img.buffer(d.len, d.bytes), len: d.len, write: d.write })),
    { addr: img.buffer(1), len: 1, write: true },
  ];
  img.chain(0, head, segments, indirect);
}

/** DISCARD / WRITE_ZEROES segments (struct virtio_blk_discard_write_zeroes). */
function ranges(list: [sector: number, sectors: number, flags: number][]): Uint8Array {
  const out = new Uint8Array(L.DWZ_SEGMENT_SIZE * list.length);
  const v = new DataView(out.buffer);
  list.forEach(([sector, n, f], i) => {
    v.setUint32(i * 16 + L.DWZ_SECTOR, sector, true);
    v.setUint32(i * 16 + L.DWZ_NUM_SECTORS, n, true);
    v.setUint32(i * 16 + L.DWZ_FLAGS, f, true);
  });
  return out;
}

export function seeds(): Uint8Array[] {
  const all = 8 | 16 | 32 | 64 | 128;
  const out: Uint8Array[] = [];
  {
    // Linux's first requests: GET_ID, a read of sector 0, a write, a flush.
    const img = new ImageWriter([16]);
    request(img, 0, L.VIRTIO_BLK_T_GET_ID, 0, [{ len: 20, write: true }]);
    request(img, 3, L.VIRTIO_BLK_T_IN, 0, [{ len: 512, write: true }]);
    request(img, 6, L.VIRTIO_BLK_T_OUT, 2, [
      { len: 1024, write: false, bytes: new Uint8Array(1024).fill(0x5a) },
    ]);
    request(img, 9, L.VIRTIO_BLK_T_FLUSH, 0, []);
    out.push(img.input([4 | all, 0]));
  }
  {
    // DISCARD and WRITE_ZEROES (with UNMAP), a read through an indirect table, one past the end.
    const img = new ImageWriter([8]);
    const d = ranges([[8, 8, 0]]);
    request(img, 0, L.VIRTIO_BLK_T_DISCARD, 0, [{ len: d.length, write: false, bytes: d }]);
    const z = ranges([
      [16, 4, L.VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP],
      [32, 1, 0],
    ]);
    request(img, 3, L.VIRTIO_BLK_T_WRITE_ZEROES, 0, [{ len: z.length, write: false, bytes: z }]);
    request(
      img,
      6,
      L.VIRTIO_BLK_T_IN,
      4,
      [
        { len: 512, write: true },
        { len: 512, write: true },
      ],
      true,
    );
    request(img, 7, L.VIRTIO_BLK_T_IN, IMAGE_SIZE / 512, [{ len: 512, write: true }]);
    out.push(img.input([3 | all, 1]));
  }
  return out;
}
