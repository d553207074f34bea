// Fuzz target: the split-virtqueue walker (SplitQueue.pop, virtio 1.2 §2.7) over a guest memory the
// input lays out (test/support/fuzz-guest.ts): descriptor table, available and used rings of queue 0,
// buffers and indirect tables all come from the input. Input byte 0: bits 0-2 log2 of the queue size
// (1..16), bit 3 VIRTIO_F_INDIRECT_DESC, bit 4 VIRTIO_F_RING_EVENT_IDX, bit 5 a 4 KiB cap on chain
// bytes, bit 6 the queue size is byte 1 instead (any value: activate() must refuse all but powers of
// two up to the maximum); bytes 1-2: the device's next avail index (little-endian: rings that wrap
// around); then RAM.
// Contract: nothing throws; every chain handed out is a head inside the queue, readable segments
// before writable ones, every segment inside guest RAM and non-empty, at most queue-size
// descriptors from each table it walks (the ring's, then one indirect table), its bytes within the cap.
import { ArrayGuestMemory } from '@vmm/hypervisor';
import { ImageWriter, MAX_RING, RAM, loadImage, queueRings } from '../../test/support/fuzz-guest';
import { RegionViews } from '../memory/region-views';
import { DescriptorChain } from './chain';
import { VIRTQ_DESC_F_NEXT } from './layout';
import { SplitQueue } from './split';

const mem = new ArrayGuestMemory(RAM);
const views = new RegionViews(mem);
// Room for more segments than any chain may have: the walker's own caps are under test, not this.
const chain = new DescriptorChain(4 * MAX_RING);
const scratch = new Uint8Array(64 * 1024);
const SMALL_CAP = 4096;
/** A buffer address for seeds that need only one. */
const BUF = 0x800;

export function fuzz(data: Uint8Array): void {
  if (data.length < 3) return;
  const flags = data[0]!;
  const free = (flags & 0x40) !== 0;
  const size = free ? data[1]! : 1 << Math.min(flags & 7, 4);
  loadImage(mem, data.subarray(3));
  const q = new SplitQueue(MAX_RING, flags & 0x20 ? SMALL_CAP : undefined);
  const rings = queueRings(0);
  q.size = size;
  q.descAddr = rings.desc;
  q.driverAddr = rings.avail;
  q.deviceAddr = rings.used;
  q.indirect = (flags & 8) !== 0;
  q.eventIdx = (flags & 16) !== 0;
  const valid = size >= 1 && size <= MAX_RING && (size & (size - 1)) === 0;
  if (q.activate(views) !== valid)
    throw new Error(`contract: activate() of a queue of ${size} said ${!valid}`);
  if (!valid) return;
  q.ready = true;
  const start = free ? 0 : data[1]! | (data[2]! << 8);
  q.restoreIndices(start, start);
  for (let n = 0; n <= size + 1; n++) {
    const r = q.pop(chain);
    if (r !== 'chain') {
      if (r === 'broken' && !q.broken) throw new Error('contract: pop said broken, the queue does not');
      break;
    }
    checkChain(q, size);
    q.pushUsed(chain.head, chain.writableBytes);
  }
  q.needsNotification();
  q.enableNotification();
  q.startPolling();
  q.stopPolling();
}

function checkChain(q: SplitQueue, size: number): void {
  const fail = (why: string): never => {
    throw new Error(`contract: chain at head ${chain.head}: ${why}`);
  };
  if (chain.head >= size) fail('head outside the queue');
  if (chain.length > 2 * size - 1) fail(`${chain.length} segments from a queue of ${size}`);
  if (chain.firstWritable > chain.length) fail('first writable segment past the end');
  let readable = 0;
  let writable = 0;
  for (let s = 0; s < chain.length; s++) {
    const region = mem.regions[chain.region[s]!];
    const off = chain.offset[s]!;
    const len = chain.len[s]!;
    if (!region || len === 0 || off < 0 || off + len > region.size)
      fail(`segment ${s} is not inside guest RAM`);
    if (s < chain.firstWritable) readable += len;
    else writable += len;
  }
  if (readable !== chain.readableBytes || writable !== chain.writableBytes)
    fail('byte counts disagree with segments');
  if (readable + writable > q.maxChainBytes)
    fail(`${readable + writable} bytes, over the cap of ${q.maxChainBytes}`);
  // Reading and writing the whole chain moves exactly its bytes; views cover exactly them.
  const r = Math.min(readable, scratch.length);
  if (chain.read(0, scratch, 0, r) !== r) fail('read moved the wrong byte count');
  const w = Math.min(writable, scratch.length);
  if (chain.write(0, scratch, 0, w) !== w) fail('write moved the wrong byte count');
  for (const [part, bytes] of [
    ['readable', readable],
    ['writable', writable],
  ] as const) {
    const skip = bytes >> 1;
    viewList.length = 0;
    const covered =
      part === 'readable'
        ? chain.readableViews(skip, bytes, viewList)
        : chain.writableViews(skip, bytes, viewList);
    const sum = viewList.reduce((n, v) => n + v.length, 0);
    if (covered !== bytes - skip || sum !== covered)
      fail(`${part} views cover ${sum} of ${bytes - skip} bytes`);
  }
}

const viewList: Uint8Array[] = [];

export const maxLength = 3 + 2 * 4096;

export function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const W = true;
  // A block request and a network frame as Linux lays them out: header, data, status.
  {
    const img = new ImageWriter([8]);
    const hdr = img.buffer(16);
    const data = img.buffer(512);
    const status = img.buffer(1);
    img.chain(0, 0, [
      { addr: hdr, len: 16, write: false },
      { addr: data, len: 512, write: W },
      { addr: status, len: 1, write: W },
    ]);
    img.chain(0, 3, [{ addr: img.buffer(1526), len: 1526, write: false }]);
    out.push(img.input([3, 0, 0]));
  }
  // An indirect table (§2.7.5.3) and a direct chain into the second region, event idx on.
  {
    const img = new ImageWriter([4]);
    const a = img.buffer(64);
    img.chain(
      0,
      0,
      [
        { addr: a, len: 32, write: false },
        { addr: a + 32, len: 32, write: W },
      ],
      true,
    );
    img.chain(0, 1, [
      { addr: 0x2000, len: 256, write: false },
      { addr: 0x2100, len: 256, write: W },
    ]);
    out.push(img.input([2 | 8 | 16, 0, 0]));
  }
  // A ring whose indices wrap around 65535 -> 0, with a capped chain size.
  {
    const img = new ImageWriter([16], 0xfffe);
    for (let i = 0; i < 3; i++) img.chain(0, i, [{ addr: img.buffer(2048), len: 2048, write: W }]);
    out.push(img.input([4 | 0x20, 0xfe, 0xff]));
  }
  // A loop (descriptor 0 -> 1 -> 0): must come back as malformed, not hang.
  {
    const img = new ImageWriter([2]);
    img.desc(queueRings(0).desc, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
    img.desc(queueRings(0).desc, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
    img.publish(0, 0);
    out.push(img.input([1, 0, 0]));
  }
  return out;
}
