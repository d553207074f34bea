// virtio-vsock flow control (virtio 1.2 §5.10.6.3): bulk data each way with credit running out and
// coming back many times, backpressure from a host reader that does not read and from a guest
// that posts no rx buffers, a guest that ignores its credit, and 500 streams at once.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { VsockGuest, pattern, sha256, until, type GuestSocket } from '../../test/support/vsock-guest';
import { VsockDevice, type VsockDeviceOptions } from './device';
import * as L from './layout';

const CID = 7;
const MiB = 1024 * 1024;
const live: { guest: VsockGuest; device: VsockDevice }[] = [];

function boot(
  opts: Partial<VsockDeviceOptions> = {},
  guestOpts: ConstructorParameters<typeof VsockGuest>[1] = {},
) {
  const device = new VsockDevice({ guestCid: CID, ...opts });
  const guest = new VsockGuest(device, guestOpts);
  guest.start();
  live.push({ guest, device });
  return { device, guest };
}

afterEach(async () => {
  for (const { guest, device } of live.splice(0)) {
    await guest.stop();
    device.close();
    await guest.shutdown();
  }
});

/** Write `data` in `chunk`-byte pieces, waiting for 'drain' as a well-behaved producer does. */
async function produce(s: Duplex, data: Uint8Array, chunk: number): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) {
    if (!s.write(data.subarray(off, off + chunk))) await once(s, 'drain');
  }
  s.end();
}

describe('virtio-vsock flow control (§5.10.6.3)', () => {
  it('guest → host: 16 MiB arrive intact (sha256) through a 64 KiB host buffer, credit running out and back', async () => {
    const { device, guest } = boot({ bufAlloc: 64 * 1024 }, { memfd: true });
    const data = randomBytes(16 * MiB);
    const digest = new Promise<string>((resolve, reject) => {
      device.listen(100, (s) => {
        const h = createHash('sha256');
        let max = 0;
        s.on('data', (c: Buffer) => {
          h.update(c);
          max = Math.max(max, s.readableLength + c.length);
        });
        s.on('end', () => {
          expect(max).toBeLessThanOrEqual(64 * 1024);
          resolve(h.digest('hex'));
        });
        s.on('error', reject);
      });
    });
    const g = await guest.connect(100);
    await g.write(data, 20_000);
    g.shutdown(L.VIRTIO_VSOCK_SHUTDOWN_SEND);
    expect(await digest).toBe(sha256(data));
    expect(device.stats.bytesFromGuest).toBe(16 * MiB);
    // 16 MiB through 64 KiB: the guest ran out of credit and got it back at least 16M/64K times.
    expect(g.stalls).toBeGreaterThanOrEqual(200);
    expect(device.stats.creditUpdatesSent).toBeGreaterThanOrEqual(200);
    expect(device.stats.creditViolations).toBe(0);
    expect(guest.stats.badPackets).toBe(0);
  }, 30_000);

  it('host → guest: 16 MiB arrive intact (sha256) into a guest with a 32 KiB buf_alloc, the host writer paced', async () => {
    const { device, guest } = boot({}, { bufAlloc: 32 * 1024, memfd: true });
    const data = randomBytes(16 * MiB);
    let g: GuestSocket | undefined;
    guest.listen(200, (s) => {
      s.hash = createHash('sha256');
      g = s;
    });
    const stream = await device.connect(200);
    await produce(stream, data, 64 * 1024);
    await until(() => g?.peerShutSend === true, 20_000, 'the SHUTDOWN after 16 MiB');
    expect(g!.totalRead).toBe(16 * MiB);
    expect(g!.hash!.digest('hex')).toBe(sha256(data));
    expect(device.stats.bytesToGuest).toBe(16 * MiB);
    // The device never sent beyond the guest's buffer (Linux would have dropped it)...
    expect(guest.stats.creditViolations).toBe(0);
    expect(guest.stats.badPackets).toBe(0);
    // ...and so waited for its credit again and again.
    expect(device.stats.creditStalls).toBeGreaterThanOrEqual(100);
    expect(guest.stats.creditUpdatesSent).toBeGreaterThanOrEqual((16 * MiB) / (32 * 1024));
  }, 30_000);

  it('a host reader that does not read blocks the guest at its credit (≤ bufAlloc buffered); reading resumes it', async () => {
    const { device, guest } = boot({ bufAlloc: 16 * 1024 });
    let stream: Duplex | undefined;
    device.listen(300, (s) => (stream = s)); // nobody reads
    const g = await guest.connect(300);
    const data = pattern(1, 100 * 1024);
    const writing = g.write(data);
    await until(() => g.stalls > 0, 2000, 'the guest to run out of credit');
    await new Promise((r) => setTimeout(r, 30));
    // The guest sent exactly the credit it had; the device holds it, no more.
    expect(g.txCnt).toBe(16 * 1024);
    expect(g.credit()).toBe(0);
    expect(stream!.readableLength).toBe(16 * 1024);
    expect(device.stats.bytesFromGuest).toBe(16 * 1024);
    expect(device.stats.creditUpdatesSent).toBe(0);
    // The reader starts: the rest flows.
    const parts: Buffer[] = [];
    stream!.on('data', (c: Buffer) => parts.push(c));
    await writing;
    await until(() => Buffer.concat(parts).length === data.length, 2000, 'all data');
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    expect(device.stats.creditUpdatesSent).toBeGreaterThan(0);
    expect(device.stats.creditViolations).toBe(0);
  });

  it('a guest that posts no rx buffers keeps the host write callback waiting; posting them completes it', async () => {
    const { device, guest } = boot({}, { rxBuffers: 4 });
    let g: GuestSocket | undefined;
    guest.listen(400, (s) => (g = s));
    const stream = await device.connect(400);
    guest.holdRx = true; // the guest stops refilling its rx ring
    const data = pattern(2, 64 * 1024);
    let done = false;
    stream.write(data, () => (done = true));
    await until(() => guest.heldRxCount === 4, 2000, 'the four rx buffers to be used');
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toBe(false);
    expect(g!.totalRead).toBe(4 * 4096);
    expect(device.stats.rxStalls).toBeGreaterThan(0);
    guest.releaseRx();
    await until(() => done, 2000, 'the write callback');
    await until(() => g!.totalRead === data.length, 2000, 'all data');
    expect(Buffer.from(g!.received()).equals(data)).toBe(true);
  });

  it('a guest sending beyond its credit is reset (RST), and the host never buffers more than bufAlloc', async () => {
    const { device, guest } = boot({ bufAlloc: 16 * 1024 });
    let stream: Duplex | undefined;
    device.listen(500, (s) => (stream = s)); // paused: nothing is consumed
    const g = await guest.connect(500);
    await until(() => stream !== undefined, 2000, 'listener');
    const err = new Promise<Error>((resolve) => stream!.once('error', resolve));
    // Ignore the credit: three 8 KiB packets into a 16 KiB buffer.
    for (let i = 0; i < 3; i++) guest.send(g, L.VIRTIO_VSOCK_OP_RW, 0, new Uint8Array(8192));
    expect(await err).toMatchObject({ name: 'VsockError', code: 'EVSOCKCREDIT' });
    await g.until(() => g.state === 'closed', 2000, 'the RST');
    expect(g.wasReset).toBe(true);
    expect(device.stats.creditViolations).toBe(1);
    expect(device.stats.bytesFromGuest).toBe(16 * 1024);
    expect(device.connectionCount).toBe(0);
  });

  it('500 concurrent streams, each with its own data, all arrive intact both ways', async () => {
    const { device, guest } = boot();
    const seen = new Map<number, number>();
    device.listen(600, (s, info) => {
      let n = 0;
      s.on('data', (c: Buffer) => (n += c.length));
      s.on('end', () => seen.set(info.guestPort, n));
      s.pipe(s); // echo, then end (SHUTDOWN SEND) after the guest's
    });
    const N = 500;
    const sockets = await Promise.all(Array.from({ length: N }, () => guest.connect(600)));
    expect(device.connectionCount).toBe(N);
    expect(new Set(sockets.map((s) => s.localPort)).size).toBe(N);
    const sizes = sockets.map((_, i) => 1000 + ((i * 7919) % 9000));
    await Promise.all(
      sockets.map(async (s, i) => {
        await s.write(pattern(i, sizes[i]!));
        s.shutdown(L.VIRTIO_VSOCK_SHUTDOWN_SEND);
        await s.until(() => s.state === 'closed', 10_000, 'echo, SHUTDOWN and RST');
      }),
    );
    sockets.forEach((s, i) => {
      expect(s.totalRead, `stream ${i}`).toBe(sizes[i]);
      expect(sha256(s.received()), `stream ${i}`).toBe(sha256(pattern(i, sizes[i]!)));
      expect(seen.get(s.localPort), `stream ${i}`).toBe(sizes[i]);
    });
    expect(device.stats.connectionsOpened).toBe(N);
    expect(device.connectionCount).toBe(0);
    expect(guest.stats.creditViolations).toBe(0);
    expect(guest.stats.badPackets).toBe(0);
  }, 30_000);
});
