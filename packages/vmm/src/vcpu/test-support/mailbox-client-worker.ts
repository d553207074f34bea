// Test worker: plays a vCPU thread forwarding MMIO accesses through the real MailboxClient.
import { parentPort, workerData } from 'node:worker_threads';
import { MailboxClient } from '../mmio-mailbox';

const { sab, mode } = workerData as { sab: SharedArrayBuffer; mode: 'roundtrip' | 'closed' };
const c = new MailboxClient(sab);
const d = new Uint8Array(8);
const dv = new DataView(d.buffer);
if (mode === 'closed') {
  parentPort!.postMessage(c.call(false, 0, d, 4));
} else {
  const got: number[] = [];
  for (let i = 0; i < 200; i++) {
    dv.setUint32(0, i * 3, true);
    c.call(true, 0xd000_0050, d, 4);
    c.call(false, 0xd000_0050, d, 4);
    got.push(dv.getUint32(0, true));
  }
  parentPort!.postMessage(got);
}
