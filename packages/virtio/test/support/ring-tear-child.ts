// Tests only: a device's split queue racing a driver on another thread over the same memfd RAM,
// in a process the test starts with V8's optimizing tiers off (as every device's first calls
// run). Two phases, each `ms` long, printed as one JSON line:
// - reads: the driver flips avail idx between 0x00ff and 0x0100 while the device, at next-avail
//   0x00ff, pops. Either value is one chain or none; a read half-old, half-new (0x0000, 0x01ff)
//   runs ahead of the queue size and breaks the queue.
// - writes: the device writes used idx 0x00ff then 0x0100 over and over while the driver reads
//   it; a value that is neither was torn by the device's store.
import { MemfdGuestMemory } from '../../../hypervisor/src/memory/memfd-guest-memory';
import { nextMessage, startTsWorker } from '../../../hypervisor/src/test-support/ts-worker';
import { RegionViews } from '../../src/memory/region-views';
import { DescriptorChain } from '../../src/queue/chain';
import * as Q from '../../src/queue/layout';
import { SplitQueue } from '../../src/queue/split';

const ms = Number(process.argv[2] ?? 1000);
const SIZE = 64;
const DESC = 0x1000;
const AVAIL = 0x2000;
const USED = 0x3000;
const DATA = 0x8000;
const LOW = 0x00ff;

const mem = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: 1 << 20 }] });
const lease = mem.lend();
mem.writeU64(DESC + Q.DESC_ADDR, BigInt(DATA));
mem.writeU32(DESC + Q.DESC_LEN, 16);
mem.writeU16(AVAIL + Q.AVAIL_IDX, LOW);
const views = new RegionViews(mem);
const q = new SplitQueue(SIZE);
q.descAddr = DESC;
q.driverAddr = AVAIL;
q.deviceAddr = USED;
if (!q.activate(views)) throw new Error('queue did not activate');
q.ready = true;
const chain = new DescriptorChain(SIZE);
const stop = new Int32Array(new SharedArrayBuffer(4));

async function phase(mode: 'flip-avail' | 'read-used', device: () => void) {
  Atomics.store(stop, 0, 0);
  device(); // the ring holds one of the two values before the driver looks
  const driver = startTsWorker(new URL('./ring-tear-driver.ts', import.meta.url), {
    workerData: {
      memory: lease.handle,
      mode,
      stop,
      at: mode === 'flip-avail' ? AVAIL + Q.AVAIL_IDX : USED + Q.USED_IDX,
    },
  });
  await nextMessage(driver); // running
  const result = nextMessage<{ flips: number; seen: Record<string, number> }>(driver);
  for (const end = Date.now() + ms; Date.now() < end;) for (let i = 0; i < 1000; i++) device();
  Atomics.store(stop, 0, 1);
  const report = await result;
  await driver.terminate();
  return report;
}

const pops = { chain: 0, empty: 0, broken: 0 };
const reads = await phase('flip-avail', () => {
  q.restoreIndices(LOW, 0);
  const r = q.pop(chain);
  pops[r]++;
  if (r === 'broken') q.restore(q.state(), views);
});
const writes = await phase('read-used', () => {
  q.restoreIndices(0, LOW);
  q.pushUsed(0, 0);
});
lease.release();
mem.close();
console.log(JSON.stringify({ pops, flips: reads.flips, usedSeen: writes.seen }));
