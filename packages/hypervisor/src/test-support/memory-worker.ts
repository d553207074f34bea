// Tests only: a worker that attaches guest memory from a handle, then answers commands:
// { read: gpa } -> the u32 there; { write: gpa, value } -> writes a u32 and says 'ok'.
import { parentPort, workerData } from 'node:worker_threads';
import { attachGuestMemory } from '../memory/memfd-guest-memory';
import type { GuestMemoryHandle } from '../types';

const mem = attachGuestMemory(workerData as GuestMemoryHandle);
parentPort!.on('message', (m: { read?: number; write?: number; value?: number }) => {
  if (m.read !== undefined) parentPort!.postMessage(mem.readU32(m.read));
  else if (m.write !== undefined) {
    mem.writeU32(m.write, m.value ?? 0);
    parentPort!.postMessage('ok');
  }
});
parentPort!.postMessage({ regions: mem.regions.map((r) => [r.gpa, r.size]) });
