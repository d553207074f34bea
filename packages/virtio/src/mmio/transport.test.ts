import { describe, expect, it } from 'vitest';
import { ArrayGuestMemory } from '@vmm/hypervisor';
import { GuestAllocator, GuestDriver, TestInterrupt } from '../../test/support/guest-driver';
import { LOW_RAM, makeGuest } from '../../test/support/setup';
import type { DeviceContext, VirtioDevice } from '../device';
import { TRANSPORT_FEATURES, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, bit } from '../features';
import { RngDevice } from '../rng/device';
import { MmioTransport } from './transport';
import {
  DEVICE_ID_ENTROPY,
  INTERRUPT_CONFIG_CHANGE,
  STATUS_ACKNOWLEDGE,
  STATUS_DEVICE_NEEDS_RESET,
  STATUS_DRIVER,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
} from '../status';
import * as R from './registers';

/** A device with a config space that changes, to watch the generation counter. */
class ConfigDevice implements VirtioDevice {
  readonly deviceId = 42;
  readonly features = TRANSPORT_FEATURES | bit(3n);
  readonly queueMaxSizes = [8];
  readonly configSize = 8;
  readonly config = new Uint8Array(8);
  writes: number[] = [];
  activated = 0;
  resets = 0;
  notified: number[] = [];
  readConfig(offset: number, data: Uint8Array): void {
    data.set(this.config.subarray(offset, offset + data.length));
  }
  writeConfig(offset: number, data: Uint8Array): void {
    this.writes.push(offset, data.length);
  }
  activate(_ctx: DeviceContext): void {
    this.activated++;
  }
  queueNotify(i: number): void {
    this.notified.push(i);
  }
  reset(): void {
    this.resets++;
  }
}

const BASE = STATUS_ACKNOWLEDGE | STATUS_DRIVER;

describe('virtio-mmio transport (virtio 1.2 §4.2.2)', () => {
  it('identifies itself: magic, version 2, device and vendor id, no shared memory regions', () => {
    const { driver } = makeGuest(new RngDevice());
    expect(driver.read32(R.MMIO_MAGIC_VALUE)).toBe(0x74726976);
    expect(driver.read32(R.MMIO_VERSION)).toBe(2);
    expect(driver.read32(R.MMIO_DEVICE_ID)).toBe(DEVICE_ID_ENTROPY);
    expect(driver.read32(R.MMIO_VENDOR_ID)).toBe(R.MMIO_VENDOR);
    driver.write32(R.MMIO_SHM_SEL, 0);
    for (const r of [R.MMIO_SHM_LEN_LOW, R.MMIO_SHM_LEN_HIGH, R.MMIO_SHM_BASE_LOW, R.MMIO_SHM_BASE_HIGH]) {
      expect(driver.read32(r)).toBe(0xffffffff);
    }
    expect(driver.deviceFeatures()).toBe(TRANSPORT_FEATURES);
    driver.write32(R.MMIO_QUEUE_SEL, 0);
    expect(driver.read32(R.MMIO_QUEUE_NUM_MAX)).toBe(64);
    driver.write32(R.MMIO_QUEUE_SEL, 1);
    expect(driver.read32(R.MMIO_QUEUE_NUM_MAX)).toBe(0);
  });

  it('accepts VERSION_1 drivers only, and only features it offered', () => {
    const { driver } = makeGuest(new RngDevice());
    // No VERSION_1 (a legacy driver): FEATURES_OK does not stick.
    expect(driver.init(bit(VIRTIO_F_INDIRECT_DESC))).toBe(0n);
    // A feature the device did not offer: refused.
    driver.write32(R.MMIO_STATUS, 0);
    driver.write32(R.MMIO_STATUS, BASE);
    driver.writeFeatures(bit(VIRTIO_F_VERSION_1) | bit(40n));
    driver.write32(R.MMIO_STATUS, BASE | STATUS_FEATURES_OK);
    expect(driver.read32(R.MMIO_STATUS) & STATUS_FEATURES_OK).toBe(0);
    // The right set sticks, and is frozen once FEATURES_OK is set.
    expect(driver.init(TRANSPORT_FEATURES)).toBe(TRANSPORT_FEATURES);
    driver.writeFeatures(0n);
    expect(driver.transport.features).toBe(TRANSPORT_FEATURES);
  });

  it('refuses DRIVER_OK before FEATURES_OK and activates the device once on DRIVER_OK', () => {
    const dev = new ConfigDevice();
    const { driver } = makeGuest(dev);
    driver.write32(R.MMIO_STATUS, BASE);
    driver.write32(R.MMIO_STATUS, BASE | STATUS_DRIVER_OK);
    expect(driver.read32(R.MMIO_STATUS) & STATUS_DRIVER_OK).toBe(0);
    expect(dev.activated).toBe(0);
    driver.init(TRANSPORT_FEATURES);
    driver.setupQueue(0);
    driver.driverOk();
    driver.driverOk();
    expect(driver.read32(R.MMIO_STATUS)).toBe(BASE | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    expect(dev.activated).toBe(1);
    // QueueNotify reaches the device; notify() (the ioeventfd path) does the same; bad indexes do nothing.
    driver.write32(R.MMIO_QUEUE_NOTIFY, 0);
    driver.transport.notify(0);
    driver.write32(R.MMIO_QUEUE_NOTIFY, 7);
    driver.transport.notify(0xffff);
    expect(dev.notified).toEqual([0, 0]);
  });

  it('resets on a status write of 0: status, features, queues and the device', () => {
    const dev = new ConfigDevice();
    const { driver, transport } = makeGuest(dev);
    driver.init(TRANSPORT_FEATURES);
    driver.setupQueue(0);
    driver.driverOk();
    driver.write32(R.MMIO_STATUS, 0);
    expect(dev.resets).toBe(2); // init() resets first, as Linux does
    expect(driver.read32(R.MMIO_STATUS)).toBe(0);
    expect(transport.features).toBe(0n);
    driver.write32(R.MMIO_QUEUE_SEL, 0);
    expect(driver.read32(R.MMIO_QUEUE_READY)).toBe(0);
    expect(transport.queues[0]!.size).toBe(8);
    // The driver can go round again.
    driver.init(TRANSPORT_FEATURES);
    driver.setupQueue(0);
    driver.driverOk();
    expect(dev.activated).toBe(2);
  });

  it('serves config space at 0x100 in any access width and bumps the generation on a change', () => {
    const dev = new ConfigDevice();
    dev.config.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const { driver, transport, irq } = makeGuest(dev);
    expect([...driver.readConfig(0, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...driver.readConfig(3, 1)]).toEqual([4]);
    expect([...driver.readConfig(2, 2)]).toEqual([3, 4]);
    // Past the config space: zeros, and the device never sees it.
    expect([...driver.readConfig(6, 4)]).toEqual([0, 0, 0, 0]);
    transport.mmioWrite(R.MMIO_CONFIG + 2, new Uint8Array(2));
    transport.mmioWrite(R.MMIO_CONFIG + 7, new Uint8Array(2));
    expect(dev.writes).toEqual([2, 2]);
    const g0 = driver.read32(R.MMIO_CONFIG_GENERATION);
    driver.init(TRANSPORT_FEATURES);
    driver.setupQueue(0);
    driver.driverOk();
    transport.configChanged();
    expect(driver.read32(R.MMIO_CONFIG_GENERATION)).toBe(g0 + 1);
    expect(irq.count).toBe(1);
    expect(driver.ackInterrupt()).toBe(INTERRUPT_CONFIG_CHANGE);
    expect(driver.read32(R.MMIO_INTERRUPT_STATUS)).toBe(0);
    expect(irq.lowered).toBe(1); // a level-triggered line would be deasserted here
    driver.write32(R.MMIO_INTERRUPT_ACK, 0xffffffff);
    expect(irq.lowered).toBe(1);
  });

  it('ignores register accesses that are not aligned 32-bit ones', () => {
    const { transport } = makeGuest(new RngDevice());
    const b = new Uint8Array(2);
    transport.mmioRead(R.MMIO_MAGIC_VALUE, b);
    expect([...b]).toEqual([0, 0]);
    const w = new Uint8Array(4);
    transport.mmioRead(R.MMIO_MAGIC_VALUE + 1, w);
    expect([...w]).toEqual([0, 0, 0, 0]);
    transport.mmioWrite(R.MMIO_STATUS, new Uint8Array([1]));
    expect(transport.deviceStatus).toBe(0);
  });

  it('sets DEVICE_NEEDS_RESET when a queue is made ready with rings outside guest memory', () => {
    const { driver, irq } = makeGuest(new RngDevice());
    driver.init(TRANSPORT_FEATURES);
    driver.write32(R.MMIO_QUEUE_SEL, 0);
    driver.write32(R.MMIO_QUEUE_NUM, 16);
    driver.write32(R.MMIO_QUEUE_DESC_LOW, 0x2000);
    driver.write32(R.MMIO_QUEUE_DESC_HIGH, 0x12345); // far past RAM
    driver.write32(R.MMIO_QUEUE_DRIVER_LOW, 0x3000);
    driver.write32(R.MMIO_QUEUE_DEVICE_LOW, 0x4000);
    driver.write32(R.MMIO_QUEUE_READY, 1);
    expect(driver.read32(R.MMIO_QUEUE_READY)).toBe(0);
    expect(driver.read32(R.MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET).toBeTruthy();
    expect(irq.count).toBe(0); // not live yet: no interrupt before DRIVER_OK
  });

  it('refuses bad queue sizes (not a power of two, above the maximum, zero)', () => {
    for (const size of [0, 3, 100, 128]) {
      const { driver } = makeGuest(new RngDevice());
      driver.init(TRANSPORT_FEATURES);
      expect(() => driver.setupQueue(0, size)).not.toThrow();
      expect(driver.read32(R.MMIO_QUEUE_READY)).toBe(0);
      expect(driver.read32(R.MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET).toBeTruthy();
    }
  });

  it('a device that throws is parked in DEVICE_NEEDS_RESET, said once, and the transport answers on', () => {
    class ThrowingDevice extends ConfigDevice {
      override queueNotify(i: number): void {
        super.queueNotify(i);
        throw new Error('model bug: index out of range\n    at queueNotify (device.ts:1:1)');
      }
    }
    const dev = new ThrowingDevice();
    const lines: [string, string][] = [];
    const memory = new ArrayGuestMemory([LOW_RAM]);
    const irq = new TestInterrupt();
    const transport = new MmioTransport({
      device: dev,
      memory,
      interrupt: irq,
      log: (kind, line) => lines.push([kind, line]),
      name: 'virtio-test vdz',
    });
    const driver = new GuestDriver(transport, memory, new GuestAllocator(0x1000, LOW_RAM.size), irq);
    driver.init(TRANSPORT_FEATURES);
    driver.setupQueue(0);
    driver.driverOk();
    driver.write32(R.MMIO_QUEUE_NOTIFY, 0); // the guest's kick: the device throws (not out of here)
    expect(driver.read32(R.MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET).toBe(64);
    expect(transport.needsResetCount).toBe(1);
    expect(transport.lastDeviceError).toBeInstanceOf(Error);
    expect(lines).toEqual([
      [
        'virtio-needs-reset',
        'virtio-test vdz: device error: model bug: index out of range; parked in DEVICE_NEEDS_RESET until the guest resets it',
      ],
    ]);
    // The driver is told through a configuration change interrupt (§2.1.2).
    expect(irq.count).toBe(1);
    expect(driver.read32(R.MMIO_INTERRUPT_STATUS) & INTERRUPT_CONFIG_CHANGE).toBe(INTERRUPT_CONFIG_CHANGE);
    // Parked: kicks no longer reach the device, and nothing more is said.
    driver.write32(R.MMIO_QUEUE_NOTIFY, 0);
    transport.notify(0);
    expect(dev.notified).toEqual([0]);
    expect(transport.needsResetCount).toBe(1);
    expect(lines).toHaveLength(1);
    // Still answering; a reset by the driver brings the device back.
    expect(driver.read32(R.MMIO_MAGIC_VALUE)).toBe(0x74726976);
    expect(driver.read32(R.MMIO_DEVICE_ID)).toBe(42);
    driver.write32(R.MMIO_STATUS, 0);
    expect(driver.read32(R.MMIO_STATUS)).toBe(0);
    driver.init(TRANSPORT_FEATURES);
    driver.setupQueue(0);
    driver.driverOk();
    expect(driver.read32(R.MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET).toBe(0);
    expect(dev.activated).toBe(2);
  });

  it('never throws for any register access a guest can make', () => {
    const { transport, driver } = makeGuest(new RngDevice());
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    const sizes = [1, 2, 4, 8];
    for (let i = 0; i < 50_000; i++) {
      const n = sizes[rnd() % 4]!;
      const off = rnd() % 0x220;
      const data = new Uint8Array(n);
      for (let j = 0; j < n; j++) data[j] = rnd() & 0xff;
      if (rnd() & 1) transport.mmioWrite(off, data);
      else transport.mmioRead(off, data);
      if (i % 1000 === 0) transport.notify(rnd() & 3);
    }
    // Still answers afterwards.
    expect(driver.read32(R.MMIO_MAGIC_VALUE)).toBe(0x74726976);
  });

  it('saveState/restoreState: a new transport over the same RAM takes the queue over where it was', () => {
    const { mem, transport, driver, irq } = makeGuest(new RngDevice());
    driver.init(TRANSPORT_FEATURES, DEVICE_ID_ENTROPY);
    const q = driver.setupQueue(0);
    driver.driverOk();
    q.add([{ addr: driver.buffer(16, 0), len: 16, write: true }]);
    q.kick();
    expect(q.usedIdx()).toBe(1);
    const s = JSON.parse(JSON.stringify(transport.saveState())) as ReturnType<MmioTransport['saveState']>;

    const fresh = () => new MmioTransport({ device: new RngDevice(), memory: mem, interrupt: irq });
    const t2 = fresh();
    expect(t2.restoreState(s)).toBe(true);
    expect(t2.deviceStatus).toBe(transport.deviceStatus);
    expect(t2.features).toBe(transport.features);
    q.add([{ addr: driver.buffer(16, 0), len: 16, write: true }]);
    t2.notify(0);
    expect(q.usedIdx()).toBe(2); // served from the saved position: not the first entry again

    const q0 = s.queues[0]!;
    for (const bad of [
      { ...s, queues: [] },
      { ...s, addressRegs: [[1, 2, 3]] },
      { ...s, driverFeatures: 'x' },
      { ...s, status: 0x1ff },
      { ...s, queues: [{ ...q0, size: 1 << 20 }] },
      { ...s, queues: [{ ...q0, nextAvail: 70000 }] },
      { ...s, queues: [{ ...q0, descAddr: 2 ** 40 }] }, // a ring outside guest RAM
      null,
    ]) {
      const t = fresh();
      expect(t.restoreState(bad as typeof s)).toBe(false);
      expect(t.deviceStatus).toBe(0);
    }
  });
});
