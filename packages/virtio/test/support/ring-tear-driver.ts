// Tests only: ring-tear-child.ts's driver thread, until `stop` is set. 'flip-avail' writes 0x00ff
// and 0x0100 in turn at `at` and reports how many pairs; 'read-used' reads `at` and reports how
// often it saw each value.
import { parentPort, workerData } from 'node:worker_threads';
import { attachGuestMemory } from '../../../hypervisor/src/memory/memfd-guest-memory';
import type { GuestMemoryHandle } from '../../../hypervisor/src/types';

const w = workerData as {
  memory: GuestMemoryHandle;
  mode: 'flip-avail' | 'read-used';
  stop: Int32Array;
  at: number;
};
const mem = attachGuestMemory(w.memory);
const seen = new Map<number, number>();
let flips = 0;
parentPort!.postMessage('running');
while (Atomics.load(w.stop, 0) === 0) {
  for (let i = 0; i < 1000; i++) {
    if (w.mode === 'flip-avail') {
      mem.writeU16(w.at, 0x00ff);
      mem.writeU16(w.at, 0x0100);
      flips++;
    } else {
      const v = mem.readU16(w.at);
      seen.set(v, (seen.get(v) ?? 0) + 1);
    }
  }
}
parentPort!.postMessage({ flips, seen: Object.fromEntries([...seen].map(([v, n]) => [v.toString(16), n])) });
