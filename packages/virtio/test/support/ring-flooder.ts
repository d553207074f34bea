// Tests only: a second guest CPU that keeps a split ring full (virtio 1.2 §2.7.13) while the
// device works on it, as a hostile guest's other vCPU would. It sees the same guest RAM (a lent
// memfd), makes every descriptor a one-buffer chain, and republishes each head as soon as the
// device has used it, without kicking. Stops after `total` chains and reports how many it made.
import { parentPort, workerData } from 'node:worker_threads';
import { attachGuestMemory, type GuestMemoryHandle } from '@vmm/hypervisor';
import * as Q from '../../src/queue/layout';

const w = workerData as {
  memory: GuestMemoryHandle;
  size: number;
  desc: number;
  avail: number;
  used: number;
  buffer: number;
  len: number;
  writable: boolean;
  total: number;
};
const mem = attachGuestMemory(w.memory);
for (let i = 0; i < w.size; i++) {
  const o = w.desc + Q.DESC_SIZE * i;
  mem.writeU64(o + Q.DESC_ADDR, BigInt(w.buffer));
  mem.writeU32(o + Q.DESC_LEN, w.len);
  mem.writeU16(o + Q.DESC_FLAGS, w.writable ? Q.VIRTQ_DESC_F_WRITE : 0);
  mem.writeU16(o + Q.DESC_NEXT, 0);
}
let availIdx = mem.readU16(w.avail + Q.AVAIL_IDX);
let made = 0;
let lastUsed = mem.readU16(w.used + Q.USED_IDX);
let next = 0;
/** Publish `head`: ring entry, then the index (x86 keeps the two stores in order). */
const publish = (head: number) => {
  mem.writeU16(w.avail + Q.AVAIL_RING + 2 * (availIdx % w.size), head);
  availIdx = (availIdx + 1) & 0xffff;
  mem.writeU16(w.avail + Q.AVAIL_IDX, availIdx);
  made++;
};
// Fill the ring, then refill a head each time the device gives one back.
for (; next < w.size && made < w.total; next++) publish(next);
parentPort!.postMessage('full');
while (made < w.total) {
  const usedIdx = mem.readU16(w.used + Q.USED_IDX);
  while (lastUsed !== usedIdx && made < w.total) {
    const head = mem.readU32(w.used + Q.USED_RING + Q.USED_ELEM_SIZE * (lastUsed % w.size));
    lastUsed = (lastUsed + 1) & 0xffff;
    publish(head % w.size);
  }
}
parentPort!.postMessage({ made });
