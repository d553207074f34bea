import { describe, expect, it } from 'vitest';
import { makeGuest } from '../../test/support/setup';
import { TRANSPORT_FEATURES, VIRTIO_F_VERSION_1, bit } from '../features';
import { VIRTQ_AVAIL_F_NO_INTERRUPT } from '../queue/layout';
import { DEVICE_ID_ENTROPY, INTERRUPT_USED_BUFFER } from '../status';
import { RngDevice } from './device';

function rngGuest(features = TRANSPORT_FEATURES) {
  const g = makeGuest(new RngDevice());
  expect(g.driver.init(features, DEVICE_ID_ENTROPY)).toBe(features);
  const q = g.driver.setupQueue(0);
  g.driver.driverOk();
  return { ...g, q };
}

describe('virtio-rng (virtio 1.2 §5.4)', () => {
  it('fills 64 bytes from the host CSPRNG and returns them with used length 64', async () => {
    const { driver, q, mem, irq } = rngGuest();
    const buf = driver.buffer(64, 0);
    const head = q.add([{ addr: buf, len: 64, write: true }]);
    q.kick();
    const [u] = await q.waitUsed();
    expect(u).toEqual({ id: head, len: 64 });
    const bytes = mem.slice(buf, 64)!;
    expect(new Set(bytes).size).toBeGreaterThan(16); // 64 random bytes: many distinct values
    expect(irq.count).toBe(1);
  });

  it('fills every byte of chains split across segments and indirect tables', async () => {
    const { driver, q, mem } = rngGuest();
    const a = driver.buffer(1, 0);
    const b = driver.buffer(4000, 0);
    const c = driver.buffer(3, 0);
    q.add(
      [
        { addr: a, len: 1, write: true },
        { addr: b, len: 4000, write: true },
        { addr: c, len: 3, write: true },
      ],
      { indirect: true },
    );
    q.kick();
    const [u] = await q.waitUsed();
    expect(u!.len).toBe(4004);
    // 4000 zero bytes all left zero by a CSPRNG is impossible in practice; count zeros loosely.
    const zeros = mem.slice(b, 4000)!.filter((x) => x === 0).length;
    expect(zeros).toBeLessThan(100);
  });

  it('event idx: writes avail_event, and interrupts only when used_event is crossed (§2.7.7.2, §2.7.10)', () => {
    const { driver, q, irq } = rngGuest();
    const bufs = [0, 1, 2, 3, 4, 5].map(() => driver.buffer(8));
    // used_event far ahead: three buffers come back without an interrupt.
    q.setUsedEvent(100);
    for (const b of bufs.slice(0, 3)) q.add([{ addr: b, len: 8, write: true }]);
    q.kick();
    expect(q.usedIdx()).toBe(3);
    expect(irq.count).toBe(0);
    // The device asks to be notified at the next new buffer.
    expect(q.availEvent()).toBe(3);
    // used_event = 4: the driver wants an interrupt once used idx passes 4 (the 5th buffer).
    q.setUsedEvent(4);
    const old = q.availIndex;
    q.add([{ addr: bufs[3]!, len: 8, write: true }]);
    expect(q.kickIfNeeded(old)).toBe(true);
    expect(q.usedIdx()).toBe(4);
    expect(irq.count).toBe(0);
    q.add([{ addr: bufs[4]!, len: 8, write: true }]);
    q.add([{ addr: bufs[5]!, len: 8, write: true }]);
    q.kick();
    expect(q.usedIdx()).toBe(6);
    expect(irq.count).toBe(1);
    expect(driver.ackInterrupt()).toBe(INTERRUPT_USED_BUFFER);
  });

  it('without event idx, honours VIRTQ_AVAIL_F_NO_INTERRUPT', () => {
    const { driver, q, irq } = rngGuest(bit(VIRTIO_F_VERSION_1));
    q.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    q.add([{ addr: driver.buffer(8), len: 8, write: true }]);
    q.kick();
    expect(q.usedIdx()).toBe(1);
    expect(irq.count).toBe(0);
    q.setAvailFlags(0);
    q.add([{ addr: driver.buffer(8), len: 8, write: true }]);
    q.kick();
    expect(irq.count).toBe(1);
  });

  it('keeps working across the 16-bit index wrap-around', () => {
    const { driver, q, transport } = rngGuest();
    const buf = driver.buffer(4);
    transport.queues[0]!.restoreIndices(65500, 65500);
    q.restoreIndices(65500);
    q.setUsedEvent(0xffff);
    let seen = 0;
    for (let i = 0; i < 300; i++) {
      q.add([{ addr: buf, len: 4, write: true }]);
      if (i % 7 === 6) {
        q.kick();
        while (q.popUsed()) seen++;
      }
    }
    q.kick();
    while (q.popUsed()) seen++;
    expect(seen).toBe(300);
    expect(q.usedIdx()).toBe((65500 + 300) & 0xffff);
  });
});
