// Child process of seccomp.test.ts. A call outside a thread's filter kills the whole process
// (SIGSYS) in 'on' mode: the parent sees the signal, the test runner survives.
//   seccomp-child.ts forbidden-open on|log   a device-policy thread opens a file for writing
//   seccomp-child.ts read-only-open on       a vCPU-policy thread reads what glibc's malloc reads
//   seccomp-child.ts forbidden-ioctl on      a vCPU-policy thread makes an ioctl not on its list
//   seccomp-child.ts device-thread           a disk served by its filtered thread, every request type
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventfdNotifier, MemfdGuestMemory } from '@vmm/hypervisor';
import { MmioTransport, TRANSPORT_FEATURES, bit, blkLayout as BL } from '@vmm/virtio';
import { GuestAllocator, GuestDriver, TestInterrupt } from '../../../virtio/test/support/guest-driver';
import { ThreadedBlkDevice } from '../../src/io/threaded-blk-device';
import { startModuleWorker } from '../../src/worker-url';

const [what = '', mode = 'on'] = process.argv.slice(2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-seccomp-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A thread with a policy's filter that then tries `attempt`; resolves with its report. */
async function probe(
  policy: 'device' | 'vcpu',
  attempt: 'open' | 'read-only-open' | 'ioctl',
): Promise<unknown> {
  const w = startModuleWorker(new URL('./seccomp-probe-worker.ts', import.meta.url), {
    workerData: { policy, attempt, mode, file: path.join(dir, 'secret') },
  });
  return new Promise((res, rej) => (w.once('message', res), w.once('error', rej)));
}

async function deviceThread(): Promise<void> {
  const RAM = 16 << 20;
  const file = path.join(dir, 'disk.img');
  const bytes = randomBytes(8 << 20);
  fs.writeFileSync(file, bytes);
  const mem = MemfdGuestMemory.create({ ranges: [{ gpa: 0, size: RAM }] });
  const dev = new ThreadedBlkDevice({ path: file, serial: 'sc', pollUs: 1000, seccomp: 'on' });
  const isr = new SharedArrayBuffer(4);
  const kick = EventfdNotifier.create();
  const irqfd = EventfdNotifier.create();
  dev.attach({ lease: mem.lend(), isr, isrIndex: 0, kickFds: [kick.fd], irqFd: irqfd.fd });
  const irq = new TestInterrupt();
  const bridge = setInterval(() => irqfd.drain() > 0n && irq.raise(), 1);
  const transport = new MmioTransport({
    device: dev,
    memory: mem,
    interrupt: irq,
    interruptStatus: new Int32Array(isr),
  });
  const d = new GuestDriver(transport, mem, new GuestAllocator(0x1000, RAM), irq);
  const wanted =
    TRANSPORT_FEATURES |
    bit(BL.VIRTIO_BLK_F_FLUSH) |
    bit(BL.VIRTIO_BLK_F_DISCARD) |
    bit(BL.VIRTIO_BLK_F_WRITE_ZEROES);
  assert.notEqual(d.init(wanted, 2), 0n);
  const q = d.setupQueue(0, 64);
  d.driverOk();
  const req = async (type: number, sector: number, data?: Uint8Array | number) => {
    const h = new Uint8Array(16);
    new DataView(h.buffer).setUint32(0, type, true);
    new DataView(h.buffer).setBigUint64(8, BigInt(sector), true);
    const segs = [{ addr: d.place(h), len: 16, write: false }];
    if (data instanceof Uint8Array) segs.push({ addr: d.place(data), len: data.length, write: false });
    else if (data !== undefined) segs.push({ addr: d.buffer(data), len: data, write: true });
    const status = d.buffer(1, 0xee);
    segs.push({ addr: status, len: 1, write: true });
    q.add(segs);
    kick.signal();
    await q.waitUsed(1);
    assert.equal(mem.readU8(status), BL.VIRTIO_BLK_S_OK, `request type ${type}`);
  };
  const seg = (sector: number, sectors: number, flags = 0) => {
    const s = new Uint8Array(16);
    const v = new DataView(s.buffer);
    v.setBigUint64(0, BigInt(sector), true);
    v.setUint32(8, sectors, true);
    v.setUint32(12, flags, true);
    return s;
  };
  await req(BL.VIRTIO_BLK_T_GET_ID, 0, 20);
  await req(BL.VIRTIO_BLK_T_IN, 0, 4096); // pread
  await req(BL.VIRTIO_BLK_T_IN, 16, 64 * 1024); // preadv
  for (let i = 0; i < 3; i++) await req(BL.VIRTIO_BLK_T_OUT, 2048 + i * 1024, randomBytes(512 * 1024)); // write-behind
  await req(BL.VIRTIO_BLK_T_FLUSH, 0);
  await req(BL.VIRTIO_BLK_T_DISCARD, 0, seg(4096, 256)); // fallocate (punch hole)
  await req(BL.VIRTIO_BLK_T_WRITE_ZEROES, 0, seg(8192, 256, BL.VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP));
  await sleep(200); // the thread polls, then sleeps in poll(2)
  await req(BL.VIRTIO_BLK_T_IN, 0, 512);
  d.write32(0x070, 0); // reset
  dev.detach();
  dev.close();
  clearInterval(bridge);
  kick.close();
  irqfd.close();
  mem.close();
  assert.equal(mem.isUnmapped, true);
}

let code = 0;
try {
  if (what === 'forbidden-open') process.stdout.write(`${JSON.stringify(await probe('device', 'open'))}\n`);
  else if (what === 'read-only-open')
    process.stdout.write(`${JSON.stringify(await probe('vcpu', 'read-only-open'))}\n`);
  else if (what === 'forbidden-ioctl')
    process.stdout.write(`${JSON.stringify(await probe('vcpu', 'ioctl'))}\n`);
  else if (what === 'device-thread') await deviceThread();
  else throw new Error(`unknown scenario ${what}`);
  // This thread was never filtered (no TSYNC): it still opens files.
  fs.writeFileSync(path.join(dir, 'main-thread'), 'ok');
  process.stdout.write('OK\n');
} catch (e) {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  code = 1;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
