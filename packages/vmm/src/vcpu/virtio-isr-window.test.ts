import { ArrayGuestMemory } from '@vmm/hypervisor';
import { INTERRUPT_CONFIG_CHANGE, MmioTransport, RngDevice, mmioRegisters as R } from '@vmm/virtio';
import { describe, expect, it } from 'vitest';
import { VirtioIsrWindow } from './virtio-isr-window';

const BASE = 0xd000_0000;

function u32(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

function readU32(t: MmioTransport, offset: number): number {
  const b = new Uint8Array(4);
  t.mmioRead(offset, b);
  return new DataView(b.buffer).getUint32(0, true);
}

/** Two transports on one shared cell array, the second driven to DRIVER_OK. */
function setup() {
  const cells = new SharedArrayBuffer(8);
  const memory = new ArrayGuestMemory([{ gpa: 0, size: 1 << 20 }]);
  const raised: number[] = [];
  const transports = [0, 1].map(
    (i) =>
      new MmioTransport({
        device: new RngDevice(),
        memory,
        interrupt: { raise: () => raised.push(i) },
        interruptStatus: new Int32Array(cells, 4 * i, 1),
      }),
  );
  const t = transports[1]!;
  t.mmioWrite(R.MMIO_STATUS, u32(3)); // ACKNOWLEDGE | DRIVER
  t.mmioWrite(R.MMIO_DRIVER_FEATURES_SEL, u32(1));
  t.mmioWrite(R.MMIO_DRIVER_FEATURES, u32(1)); // VIRTIO_F_VERSION_1 (bit 32)
  t.mmioWrite(R.MMIO_STATUS, u32(3 | 8)); // FEATURES_OK
  t.mmioWrite(R.MMIO_STATUS, u32(3 | 8 | 4)); // DRIVER_OK
  const window = new VirtioIsrWindow({ cells, base: BASE, slots: 2 });
  return { t, raised, window };
}

describe('virtio InterruptStatus/ACK answered in the vCPU thread (virtio 1.2 §4.2.2)', () => {
  it('reads the bits the transport set and clears them on ACK, as the transport itself sees', () => {
    const { t, raised, window } = setup();
    t.configChanged();
    expect(raised).toEqual([1]);
    const data = new Uint8Array(4);
    expect(window.access(false, BASE + 0x200 + R.MMIO_INTERRUPT_STATUS, data, 4)).toBe(true);
    expect([...data]).toEqual([INTERRUPT_CONFIG_CHANGE, 0, 0, 0]);
    // Slot 0 is another device: its cell is untouched.
    expect(window.access(false, BASE + R.MMIO_INTERRUPT_STATUS, data, 4)).toBe(true);
    expect([...data]).toEqual([0, 0, 0, 0]);
    expect(window.access(true, BASE + 0x200 + R.MMIO_INTERRUPT_ACK, u32(INTERRUPT_CONFIG_CHANGE), 4)).toBe(
      true,
    );
    expect(readU32(t, R.MMIO_INTERRUPT_STATUS)).toBe(0);
  });

  it('leaves every other access to the main thread: other registers, other sizes, outside the window', () => {
    const { window } = setup();
    const data = new Uint8Array(8);
    expect(window.access(false, BASE + R.MMIO_STATUS, data, 4)).toBe(false);
    expect(window.access(true, BASE + R.MMIO_INTERRUPT_STATUS, data, 4)).toBe(false);
    expect(window.access(false, BASE + R.MMIO_INTERRUPT_ACK, data, 4)).toBe(false);
    expect(window.access(false, BASE + R.MMIO_INTERRUPT_STATUS, data, 2)).toBe(false);
    expect(window.access(false, BASE + 2 * 0x200 + R.MMIO_INTERRUPT_STATUS, data, 4)).toBe(false);
    expect(window.access(false, BASE - 0x200 + R.MMIO_INTERRUPT_STATUS, data, 4)).toBe(false);
  });
});
