// virtio-mmio transport, version 2 (virtio 1.2 §4.2.2 and §4.2.3): the register file a driver
// sees in one 0x200-byte slot. The vmm calls mmioRead/mmioWrite for the guest's accesses and
// notify(index) when a queue's ioeventfd fires. None of these throws for any guest value.
import type { GuestMemory, LogSink } from '@vmm/hypervisor';
import type { DeviceContext, InterruptSink, VirtioDevice } from '../device';
import { VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_VERSION_1, hasFeature } from '../features';
import { RegionViews } from '../memory/region-views';
import { SplitQueue, type SplitQueueState } from '../queue/split';
import {
  INTERRUPT_CONFIG_CHANGE,
  INTERRUPT_USED_BUFFER,
  STATUS_DEVICE_NEEDS_RESET,
  STATUS_DRIVER_OK,
  STATUS_FAILED,
  STATUS_FEATURES_OK,
} from '../status';
import * as R from './registers';
import { signalUsedBuffer } from './used-interrupt';

export interface MmioTransportOptions {
  device: VirtioDevice;
  memory: GuestMemory;
  interrupt: InterruptSink;
  /** Cap on the bytes one descriptor chain may describe (default: queue/split.ts). */
  maxChainBytes?: number;
  /**
   * InterruptStatus as one Int32 cell, shared with other threads: a vCPU thread may answer the
   * driver's InterruptStatus reads and InterruptACK writes itself, and a device served in a worker
   * sets its bits there (all through Atomics). Default: a private cell.
   */
  interruptStatus?: Int32Array;
  /** What a user sees of this device's failures (a device parked in DEVICE_NEEDS_RESET, a broken ring). */
  log?: LogSink;
  /** The device's name in those lines (e.g. "virtio-blk vda"). */
  name?: string;
  /** DeviceContext.interrupted: the owner of the thread this transport runs on wants it back. */
  interrupted?: () => boolean;
}

/**
 * The register file and the queues as the driver left them, for a snapshot: plain data (JSON).
 * A restore checks every field (a snapshot is a file anyone could have edited).
 */
export interface MmioTransportState {
  status: number;
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  /** The features the driver wrote, 64 bits as a decimal string. */
  driverFeatures: string;
  queueSel: number;
  interruptStatus: number;
  configGeneration: number;
  /** DRIVER_OK was seen and the device activated. */
  activated: boolean;
  queues: SplitQueueState[];
  /** Per queue, the six 32-bit halves of its ring addresses as written. */
  addressRegs: number[][];
}

export class MmioTransport implements DeviceContext {
  readonly device: VirtioDevice;
  readonly memory: GuestMemory;
  readonly views: RegionViews;
  readonly queues: readonly SplitQueue[];
  private readonly sink: InterruptSink;
  private readonly logSink: LogSink | undefined;
  readonly name: string;
  /** Times this device was parked in DEVICE_NEEDS_RESET (a broken ring, a device error). */
  needsResetCount = 0;

  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  private queueSel = 0;
  private readonly isr: Int32Array;
  private configGeneration = 0;
  private activated = false;
  /** Per queue: the QueueDesc/Driver/Device Low/High registers as written. */
  private readonly addressRegs: Uint32Array[];

  constructor(options: MmioTransportOptions) {
    this.device = options.device;
    this.memory = options.memory;
    this.sink = options.interrupt;
    this.logSink = options.log;
    this.name = options.name ?? `virtio device ${options.device.deviceId}`;
    this.views = new RegionViews(options.memory);
    this.queues = options.device.queueMaxSizes.map((max) => new SplitQueue(max, options.maxChainBytes));
    this.addressRegs = this.queues.map(() => new Uint32Array(6));
    this.isr = options.interruptStatus ?? new Int32Array(1);
    Atomics.store(this.isr, 0, 0);
    if (options.interrupted) this.interrupted = options.interrupted;
  }

  /** Features the driver accepted (valid once FEATURES_OK is set). */
  get features(): bigint {
    return this.driverFeatures;
  }

  /** The device status byte (§2.1), for tests and diagnostics. */
  get deviceStatus(): number {
    return this.status;
  }

  // --- DeviceContext -----------------------------------------------------------------------------

  signalUsed(index: number): void {
    signalUsedBuffer(this.queues[index], this.isr, this.raise);
  }

  private readonly raise = (): void => this.sink.raise();

  interrupted?(): boolean;

  requeue(index: number): void {
    const bit = 1 << index;
    if (index < 0 || index >= Math.min(this.queues.length, 31) || this.requeued & bit) return;
    this.requeued |= bit;
    if (this.requeueScheduled) return;
    this.requeueScheduled = true;
    // setImmediate: after the I/O and timers of this turn (a signal, the NAT's timers, other
    // devices' kicks), so a guest that keeps a ring full shares the main thread instead of holding it.
    setImmediate(this.runRequeued);
  }

  private requeued = 0;
  private requeueScheduled = false;
  private readonly runRequeued = (): void => {
    this.requeueScheduled = false;
    const mask = this.requeued;
    this.requeued = 0;
    for (let i = 0; mask >> i; i++) if (mask & (1 << i)) this.notify(i);
  };

  needsReset(): void {
    this.park('its driver broke a ring (a bad head index, or avail idx running ahead)');
  }

  /** DeviceContext.log: the device's line, named after it, to the transport's sink. */
  log(kind: string, line: string): void {
    this.logSink?.(kind, `${this.name}: ${line}`);
  }

  /** Set DEVICE_NEEDS_RESET (§2.1.2), tell the driver (config change) and the user (one line). */
  private park(why: string): void {
    if (this.status & STATUS_DEVICE_NEEDS_RESET) return;
    this.needsResetCount++;
    this.logSink?.(
      'virtio-needs-reset',
      `${this.name}: ${why}; parked in DEVICE_NEEDS_RESET until the guest resets it`,
    );
    this.status |= STATUS_DEVICE_NEEDS_RESET;
    if (this.status & STATUS_DRIVER_OK) {
      Atomics.or(this.isr, 0, INTERRUPT_CONFIG_CHANGE);
      this.sink.raise();
    }
  }

  /** The device changed its configuration space: bump the generation and tell the driver (§4.2.3.4). */
  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    if (this.status & STATUS_DRIVER_OK) {
      Atomics.or(this.isr, 0, INTERRUPT_CONFIG_CHANGE);
      this.sink.raise();
    }
  }

  // --- the vmm's side ----------------------------------------------------------------------------

  /**
   * What a snapshot keeps of this transport. Call it with the guest's vCPUs and the device paused
   * (VirtioDevice.pause): the queues' positions come from the device when it serves them itself.
   */
  saveState(): MmioTransportState {
    const queues = this.device.queueStates?.() ?? this.queues.map((q) => q.state());
    return {
      status: this.status,
      deviceFeaturesSel: this.deviceFeaturesSel,
      driverFeaturesSel: this.driverFeaturesSel,
      driverFeatures: this.driverFeatures.toString(),
      queueSel: this.queueSel,
      interruptStatus: Atomics.load(this.isr, 0),
      configGeneration: this.configGeneration,
      activated: this.activated,
      queues,
      addressRegs: this.addressRegs.map((r) => [...r]),
    };
  }

  /**
   * Make this new transport (the same kind of device, over the restored guest RAM) what
   * saveState() saw, and activate the device if it was. `deviceState`: the device's own (its
   * saveState()), which it takes after the reset and before it is activated; the caller checked it
   * with stateFault. False, with the transport reset, when the state does not fit: another queue
   * count, a size over the maximum, a ring outside RAM, a malformed field.
   */
  restoreState(s: MmioTransportState, deviceState?: unknown): boolean {
    this.reset();
    if (!validState(s, this.queues, this.device.features)) return false;
    for (let i = 0; i < this.queues.length; i++) {
      if (!this.queues[i]!.restore(s.queues[i]!, this.views)) {
        this.reset();
        return false;
      }
      this.addressRegs[i]!.set(s.addressRegs[i]!);
    }
    this.status = s.status;
    this.deviceFeaturesSel = s.deviceFeaturesSel;
    this.driverFeaturesSel = s.driverFeaturesSel;
    this.driverFeatures = BigInt(s.driverFeatures);
    this.queueSel = s.queueSel;
    this.configGeneration = s.configGeneration;
    Atomics.store(this.isr, 0, s.interruptStatus);
    if (deviceState !== undefined) this.device.restoreState?.(deviceState);
    if (s.activated) {
      this.activated = true;
      try {
        this.device.activate(this);
      } catch (e) {
        this.deviceFailed(e);
      }
    }
    return true;
  }

  /**
   * The boot is over: reset the device as a driver's status 0 would, so it lets go of this RAM's
   * views before the RAM is unmapped (a frame arriving for a net device afterwards is dropped).
   */
  shutdown(): void {
    this.reset();
  }

  /** The guest notified queue `index` (its ioeventfd fired, or a QueueNotify write). */
  notify(index: number): void {
    if (!this.activated || this.status & STATUS_DEVICE_NEEDS_RESET) return;
    const q = this.queues[index];
    if (!q || !q.live) return;
    try {
      this.device.queueNotify(index);
    } catch (e) {
      this.deviceFailed(e);
    }
  }

  /** The last exception a device model let out (a bug in it, never a guest's doing); for diagnostics. */
  lastDeviceError: unknown;

  /** A device model threw: keep the vCPU loop alive, park the device in DEVICE_NEEDS_RESET. */
  private deviceFailed(e: unknown): void {
    this.lastDeviceError = e;
    this.park(`device error: ${describe(e)}`);
  }

  /** A guest read of `data.length` bytes at `offset` in the slot; fills `data`. */
  mmioRead(offset: number, data: Uint8Array): void {
    data.fill(0);
    const n = data.length;
    if (!Number.isInteger(offset) || offset < 0 || offset + n > R.MMIO_SLOT_SIZE) return;
    if (offset >= R.MMIO_CONFIG) {
      const c = offset - R.MMIO_CONFIG;
      if (c + n <= this.device.configSize) {
        try {
          this.device.readConfig(c, data);
        } catch (e) {
          this.lastDeviceError = e;
        }
      }
      return;
    }
    // §4.2.2.2: registers are read 32 bits at a time, aligned.
    if (n !== 4 || offset % 4 !== 0) return;
    putU32(data, this.readRegister(offset));
  }

  /** A guest write of `data` at `offset` in the slot. */
  mmioWrite(offset: number, data: Uint8Array): void {
    const n = data.length;
    if (!Number.isInteger(offset) || offset < 0 || offset + n > R.MMIO_SLOT_SIZE) return;
    if (offset >= R.MMIO_CONFIG) {
      const c = offset - R.MMIO_CONFIG;
      if (c + n <= this.device.configSize) {
        try {
          this.device.writeConfig(c, data);
        } catch (e) {
          this.lastDeviceError = e;
        }
      }
      return;
    }
    if (n !== 4 || offset % 4 !== 0) return;
    this.writeRegister(offset, getU32(data));
  }

  // --- registers ---------------------------------------------------------------------------------

  private readRegister(offset: number): number {
    const q = this.queues[this.queueSel];
    switch (offset) {
      case R.MMIO_MAGIC_VALUE:
        return R.MMIO_MAGIC;
      case R.MMIO_VERSION:
        return R.MMIO_VERSION_MODERN;
      case R.MMIO_DEVICE_ID:
        return this.device.deviceId;
      case R.MMIO_VENDOR_ID:
        return R.MMIO_VENDOR;
      case R.MMIO_DEVICE_FEATURES:
        return this.deviceFeaturesSel > 1
          ? 0
          : Number((this.device.features >> BigInt(32 * this.deviceFeaturesSel)) & 0xffffffffn);
      case R.MMIO_QUEUE_NUM_MAX:
        return q ? q.maxSize : 0;
      case R.MMIO_QUEUE_READY:
        return q?.ready ? 1 : 0;
      case R.MMIO_INTERRUPT_STATUS:
        return Atomics.load(this.isr, 0);
      case R.MMIO_STATUS:
        return this.status;
      case R.MMIO_SHM_LEN_LOW:
      case R.MMIO_SHM_LEN_HIGH:
      case R.MMIO_SHM_BASE_LOW:
      case R.MMIO_SHM_BASE_HIGH:
        // §4.2.2: a non-existent shared memory region reads as length and base all ones.
        return 0xffffffff;
      case R.MMIO_CONFIG_GENERATION:
        return this.configGeneration;
      default:
        return 0;
    }
  }

  private writeRegister(offset: number, value: number): void {
    switch (offset) {
      case R.MMIO_DEVICE_FEATURES_SEL:
        this.deviceFeaturesSel = value;
        return;
      case R.MMIO_DRIVER_FEATURES_SEL:
        this.driverFeaturesSel = value;
        return;
      case R.MMIO_DRIVER_FEATURES:
        this.writeDriverFeatures(value);
        return;
      case R.MMIO_QUEUE_SEL:
        this.queueSel = value;
        return;
      case R.MMIO_QUEUE_NOTIFY:
        this.notify(value & 0xffff);
        return;
      case R.MMIO_INTERRUPT_ACK: {
        const before = Atomics.and(this.isr, 0, ~value);
        if (before !== 0 && (before & ~value) === 0) this.sink.lower?.();
        return;
      }
      case R.MMIO_STATUS:
        this.writeStatus(value & 0xff);
        return;
      default:
        this.writeQueueRegister(offset, value);
    }
  }

  private writeDriverFeatures(value: number): void {
    // §2.2.2: features are fixed once FEATURES_OK is set.
    if (this.status & STATUS_FEATURES_OK || this.driverFeaturesSel > 1) return;
    const shift = BigInt(32 * this.driverFeaturesSel);
    this.driverFeatures = (this.driverFeatures & ~(0xffffffffn << shift)) | (BigInt(value >>> 0) << shift);
  }

  private writeQueueRegister(offset: number, value: number): void {
    const q = this.queues[this.queueSel];
    if (!q) return;
    // Disabling a queue is always allowed (Linux's vm_del_vq writes QueueReady 0 and checks it).
    if (offset === R.MMIO_QUEUE_READY && value === 0) {
      q.ready = false;
      return;
    }
    // Otherwise queue registers are only written while the queue is not ready (§4.2.3.2) and before DRIVER_OK.
    if (q.ready || this.status & STATUS_DRIVER_OK) return;
    if (offset === R.MMIO_QUEUE_READY) {
      this.makeReady(q);
      return;
    }
    const v = value >>> 0;
    const regs = this.addressRegs[this.queueSel]!;
    switch (offset) {
      case R.MMIO_QUEUE_NUM:
        q.size = v;
        return;
      case R.MMIO_QUEUE_DESC_LOW:
      case R.MMIO_QUEUE_DESC_HIGH:
      case R.MMIO_QUEUE_DRIVER_LOW:
      case R.MMIO_QUEUE_DRIVER_HIGH:
      case R.MMIO_QUEUE_DEVICE_LOW:
      case R.MMIO_QUEUE_DEVICE_HIGH:
        regs[R.QUEUE_ADDRESS_REGS.indexOf(offset)] = v;
        q.descAddr = joinAddress(regs[0]!, regs[1]!);
        q.driverAddr = joinAddress(regs[2]!, regs[3]!);
        q.deviceAddr = joinAddress(regs[4]!, regs[5]!);
        return;
    }
  }

  private makeReady(q: SplitQueue): void {
    if (!(this.status & STATUS_FEATURES_OK)) {
      this.needsReset();
      return;
    }
    q.eventIdx = hasFeature(this.driverFeatures, VIRTIO_F_RING_EVENT_IDX);
    q.indirect = hasFeature(this.driverFeatures, VIRTIO_F_INDIRECT_DESC);
    if (!q.activate(this.views)) {
      this.needsReset();
      return;
    }
    q.ready = true;
  }

  private writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const old = this.status;
    // The driver may only add bits (§2.1.2); DEVICE_NEEDS_RESET is the device's to set.
    let next = old | (value & ~STATUS_DEVICE_NEEDS_RESET);
    if (
      next & STATUS_FEATURES_OK &&
      !(old & STATUS_FEATURES_OK) &&
      !featuresAcceptable(this.driverFeatures, this.device.features)
    ) {
      next &= ~STATUS_FEATURES_OK;
    }
    if (next & STATUS_DRIVER_OK && !(old & STATUS_DRIVER_OK)) {
      if (!(next & STATUS_FEATURES_OK) || next & STATUS_FAILED) next &= ~STATUS_DRIVER_OK;
    }
    this.status = next;
    if (next & STATUS_DRIVER_OK && !this.activated) {
      this.activated = true;
      try {
        this.device.activate(this);
      } catch (e) {
        this.deviceFailed(e);
      }
    }
  }

  /** Device reset (§2.4): back to the state after power-on. */
  private reset(): void {
    try {
      this.device.reset();
    } catch (e) {
      this.lastDeviceError = e;
    }
    for (const q of this.queues) q.reset();
    for (const regs of this.addressRegs) regs.fill(0);
    this.status = 0;
    this.deviceFeaturesSel = this.driverFeaturesSel = this.queueSel = 0;
    this.driverFeatures = 0n;
    Atomics.store(this.isr, 0, 0);
    this.activated = false;
  }
}

/** §6.1 and §2.2.1: VERSION_1 accepted (no legacy) and nothing the device did not offer. */
function featuresAcceptable(driver: bigint, device: bigint): boolean {
  if (driver & ~device) return false;
  return hasFeature(driver, VIRTIO_F_VERSION_1);
}

const isU32 = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

/**
 * Every field of a saved transport state has its type and range, its queues fit these, and the
 * whole is a state the registers can reach (so a restored device never sees what a driver could
 * not have set up): FEATURES_OK only with acceptable features (§2.2.2), DRIVER_OK only after it
 * and exactly when the device was activated, a queue ready only after FEATURES_OK with the ring
 * features negotiated (§4.2.3.2), each queue's addresses those its registers make.
 */
function validState(s: MmioTransportState, queues: readonly SplitQueue[], deviceFeatures: bigint): boolean {
  if (typeof s !== 'object' || s === null) return false;
  const words = [
    s.status,
    s.deviceFeaturesSel,
    s.driverFeaturesSel,
    s.queueSel,
    s.interruptStatus,
    s.configGeneration,
  ];
  if (!words.every(isU32) || s.status > 0xff || typeof s.activated !== 'boolean') return false;
  if (typeof s.driverFeatures !== 'string' || !/^\d{1,20}$/.test(s.driverFeatures)) return false;
  const features = BigInt(s.driverFeatures);
  if (features > 0xffff_ffff_ffff_ffffn) return false;
  const featuresOk = (s.status & STATUS_FEATURES_OK) !== 0;
  if (featuresOk && !featuresAcceptable(features, deviceFeatures)) return false;
  const driverOk = (s.status & STATUS_DRIVER_OK) !== 0;
  if (driverOk !== s.activated || (driverOk && !featuresOk)) return false;
  if (s.interruptStatus & ~(INTERRUPT_USED_BUFFER | INTERRUPT_CONFIG_CHANGE)) return false;
  if (!Array.isArray(s.queues) || s.queues.length !== queues.length) return false;
  if (!Array.isArray(s.addressRegs) || s.addressRegs.length !== queues.length) return false;
  return s.queues.every((q, i) => {
    const regs = s.addressRegs[i];
    if (!Array.isArray(regs) || regs.length !== 6 || !regs.every(isU32)) return false;
    if (typeof q !== 'object' || q === null || typeof q.ready !== 'boolean') return false;
    if (typeof q.eventIdx !== 'boolean' || typeof q.indirect !== 'boolean') return false;
    const addrs = [q.descAddr, q.driverAddr, q.deviceAddr];
    if (addrs.some((a, j) => a !== joinAddress(regs[2 * j]!, regs[2 * j + 1]!))) return false;
    if (
      q.ready &&
      (!featuresOk ||
        q.eventIdx !== hasFeature(features, VIRTIO_F_RING_EVENT_IDX) ||
        q.indirect !== hasFeature(features, VIRTIO_F_INDIRECT_DESC))
    )
      return false;
    if (!isU32(q.size) || q.size > queues[i]!.maxSize) return false;
    return [q.nextAvail, q.nextUsed].every((n) => Number.isInteger(n) && n >= 0 && n <= 0xffff);
  });
}

/** The first line of an error, for a log line. */
function describe(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n', 1)[0] ?? text;
}

function putU32(data: Uint8Array, v: number): void {
  data[0] = v & 0xff;
  data[1] = (v >>> 8) & 0xff;
  data[2] = (v >>> 16) & 0xff;
  data[3] = (v >>> 24) & 0xff;
}

function getU32(data: Uint8Array): number {
  return (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0;
}

/** An address beyond 2^53 cannot be exact: make it -1, which every bounds check refuses. */
function joinAddress(low: number, high: number): number {
  return high > 0x1fffff ? -1 : high * 0x1_0000_0000 + low;
}
