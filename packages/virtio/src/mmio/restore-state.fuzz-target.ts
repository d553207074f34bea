// Fuzz target: MmioTransport.restoreState, which takes a transport's saved state (a snapshot's
// devices.json, one entry per virtio device: a file anyone could have edited) back into a new
// transport over the restored guest RAM. Input: the state as JSON text, as devices.json holds it.
// Contract: restoreState never throws; false leaves the transport reset (status 0, no features, no
// queue ready, the device not activated); true leaves a state the registers could have reached
// (FEATURES_OK only with features the device offered and VERSION_1, DRIVER_OK exactly when the
// device was activated, a ready queue only after FEATURES_OK), every ready queue live with its
// rings aligned and inside guest RAM and its size a power of two up to the queue's maximum; and
// the transport saves back what it was given. A restored device then serves its queues without a throw.
import { ArrayGuestMemory } from '@vmm/hypervisor';
import { GuestAllocator, GuestDriver, TestInterrupt } from '../../test/support/guest-driver';
import type { DeviceContext, VirtioDevice } from '../device';
import {
  TRANSPORT_FEATURES,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_RING_EVENT_IDX,
  VIRTIO_F_VERSION_1,
  bit,
  hasFeature,
} from '../features';
import { DescriptorChain } from '../queue/chain';
import { AVAIL_ALIGN, DESC_ALIGN, DESC_SIZE, USED_ALIGN, availSize, usedSize } from '../queue/layout';
import { STATUS_DRIVER_OK, STATUS_FEATURES_OK } from '../status';
import * as R from './registers';
import { MmioTransport, type MmioTransportState } from './transport';

/** Two RAM regions with a hole between them: "outside guest memory" has somewhere to point. */
const LOW = { gpa: 0, size: 64 * 1024 };
const HIGH = { gpa: 0x1_0000_0000, size: 64 * 1024 };
const mem = new ArrayGuestMemory([LOW, HIGH]);

/** A device with a large and a small queue that serves what its queues hold, as real ones do. */
class QueueDevice implements VirtioDevice {
  readonly deviceId = 42;
  readonly features = TRANSPORT_FEATURES | bit(3n);
  readonly queueMaxSizes = [256, 8];
  readonly configSize = 0;
  activations = 0;
  private ctx: DeviceContext | undefined;
  private readonly chain = new DescriptorChain(512);
  readConfig(): void {}
  writeConfig(): void {}
  activate(ctx: DeviceContext): void {
    this.activations++;
    this.ctx = ctx;
  }
  queueNotify(index: number): void {
    const q = this.ctx?.queues[index];
    if (!q) return;
    for (let n = 0; n < 4 && q.pop(this.chain) === 'chain'; n++) q.pushUsed(this.chain.head, 0);
    this.ctx!.signalUsed(index);
  }
  reset(): void {
    this.ctx = undefined;
  }
}

const irq = { raise(): void {} };

export function fuzz(data: Uint8Array): void {
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8'));
  } catch {
    return; // devices.json's own parser refuses it before any transport sees it
  }
  for (const r of mem.regions) r.bytes.fill(0);
  const device = new QueueDevice();
  const t = new MmioTransport({ device, memory: mem, interrupt: irq });
  // As devices.json hands it over: whatever JSON the file held where a state belongs.
  const s = state as MmioTransportState;
  if (!t.restoreState(s)) {
    checkReset(t, device);
    return;
  }
  checkRestored(t, s, device);
  for (let i = 0; i < t.queues.length; i++) t.notify(i);
  t.shutdown();
}

function fail(why: string): never {
  throw new Error(`contract: ${why}`);
}

function checkReset(t: MmioTransport, device: QueueDevice): void {
  if (t.deviceStatus !== 0 || t.features !== 0n) fail('a refused state left status or features behind');
  if (t.queues.some((q) => q.ready || q.live)) fail('a refused state left a queue ready');
  if (device.activations !== 0) fail('a refused state activated the device');
}

function checkRestored(t: MmioTransport, s: MmioTransportState, device: QueueDevice): void {
  const status = t.deviceStatus;
  const features = t.features;
  const featuresOk = (status & STATUS_FEATURES_OK) !== 0;
  if (status > 0xff) fail(`status ${status}`);
  if (featuresOk && (features & ~device.features || !hasFeature(features, VIRTIO_F_VERSION_1)))
    fail(`FEATURES_OK with features 0x${features.toString(16)} the device did not offer`);
  if (((status & STATUS_DRIVER_OK) !== 0) !== (device.activations === 1) || device.activations > 1)
    fail(`DRIVER_OK is ${status & STATUS_DRIVER_OK}, the device was activated ${device.activations} times`);
  t.queues.forEach((q, i) => {
    if (!q.ready) return;
    const at = `queue ${i}`;
    if (!featuresOk) fail(`${at} ready without FEATURES_OK`);
    if (!q.live) fail(`${at} ready, not live`);
    if (q.size < 1 || q.size > q.maxSize || (q.size & (q.size - 1)) !== 0) fail(`${at} of size ${q.size}`);
    if (q.descAddr % DESC_ALIGN || q.driverAddr % AVAIL_ALIGN || q.deviceAddr % USED_ALIGN)
      fail(`${at} with a misaligned ring`);
    const rings: [number, number][] = [
      [q.descAddr, DESC_SIZE * q.size],
      [q.driverAddr, availSize(q.size)],
      [q.deviceAddr, usedSize(q.size)],
    ];
    if (!rings.every(([a, n]) => mem.contains(a, n))) fail(`${at} with a ring outside guest RAM`);
    if (q.eventIdx !== hasFeature(features, VIRTIO_F_RING_EVENT_IDX)) fail(`${at}: event idx not negotiated`);
    if (q.indirect !== hasFeature(features, VIRTIO_F_INDIRECT_DESC)) fail(`${at}: indirect not negotiated`);
  });
  // What was restored saves back as given (a queue that is not ready keeps no ring positions).
  const expected: MmioTransportState = {
    status: s.status,
    deviceFeaturesSel: s.deviceFeaturesSel,
    driverFeaturesSel: s.driverFeaturesSel,
    driverFeatures: BigInt(s.driverFeatures).toString(),
    queueSel: s.queueSel,
    interruptStatus: s.interruptStatus,
    configGeneration: s.configGeneration,
    activated: s.activated,
    queues: s.queues.map((q) => ({
      size: q.size,
      ready: q.ready,
      descAddr: q.descAddr,
      driverAddr: q.driverAddr,
      deviceAddr: q.deviceAddr,
      eventIdx: q.eventIdx,
      indirect: q.indirect,
      nextAvail: q.ready ? q.nextAvail : 0,
      nextUsed: q.ready ? q.nextUsed : 0,
    })),
    addressRegs: s.addressRegs,
  };
  if (canonical(t.saveState()) !== canonical(expected)) fail('the restored transport saves another state');
}

/** JSON with the keys in one order, to compare states whatever order the file had. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

export const maxLength = 4096;

const json = (s: MmioTransportState): Uint8Array => Buffer.from(JSON.stringify(s));

/** States a driver really left: saved from a transport driven as Linux's virtio_mmio.c drives one. */
export function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const fresh = () => {
    const device = new QueueDevice();
    const transport = new MmioTransport({ device, memory: mem, interrupt: irq });
    const driver = new GuestDriver(transport, mem, new GuestAllocator(0x1000, LOW.size), new TestInterrupt());
    return { transport, driver };
  };
  // Never touched; then features negotiated and nothing more.
  const a = fresh();
  out.push(json(a.transport.saveState()));
  a.driver.init(TRANSPORT_FEATURES);
  out.push(json(a.transport.saveState()));
  // Queue 0 ready, not yet DRIVER_OK; then running with requests served (indices moved on).
  const b = fresh();
  b.driver.init(TRANSPORT_FEATURES);
  const q = b.driver.setupQueue(0, 16);
  out.push(json(b.transport.saveState()));
  b.driver.driverOk();
  for (let n = 0; n < 3; n++) {
    q.add([{ addr: b.driver.buffer(16, 0), len: 16, write: true }]);
    q.kick();
  }
  out.push(json(b.transport.saveState()));
  // No event index or indirect descriptors; queue 1 (the small one) with its rings in high RAM.
  const c = fresh();
  c.driver.init(bit(32n));
  c.driver.setupQueue(0, 256);
  c.driver.write32(R.MMIO_QUEUE_SEL, 1);
  c.driver.write32(R.MMIO_QUEUE_NUM, 8);
  const high = [0x0, 0x1, 0x800, 0x1, 0x1000, 0x1];
  R.QUEUE_ADDRESS_REGS.forEach((reg, i) => c.driver.write32(reg, high[i]!));
  c.driver.write32(R.MMIO_QUEUE_READY, 1);
  c.driver.driverOk();
  out.push(json(c.transport.saveState()));
  return out;
}
