// Tests only: a worker that attaches guest memory from a handle, then answers commands:
// { read: gpa } -> the u32 there; { write: gpa, value } -> writes a u32 and says 'ok';
// { external: true } -> this isolate's external memory in bytes (the views V8 counts).
import { parentPort, workerData } from 'node:worker_threads';
import { attachGuestMemory } from '../memory/memfd-guest-memory';
import type { GuestMemoryHandle } from '../types';

const mem = attachGuestMemory(workerData as GuestMemoryHandle);
parentPort!.on('message', (m: { read?: number; write?: number; value?: number; external?: boolean }) => {
  if (m.external) parentPort!.postMessage(process.memoryUsage().external);
  else if (m.read !== undefined) parentPort!.postMessage(mem.readU32(m.read));
  else if (m.write !== undefined) {
    mem.writeU32(m.write, m.value ?? 0);
    parentPort!.postMessage('ok');
  }
});
parentPort!.postMessage({ regions: mem.regions.map((r) => [r.gpa, r.size]) });
