import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { makeGuest } from '../../test/support/setup';
import { TRANSPORT_FEATURES } from '../features';
import { DEVICE_ID_CONSOLE } from '../status';
import { ConsoleDevice } from './device';
import { CONSOLE_RECEIVEQ, CONSOLE_TRANSMITQ } from './layout';

function consoleGuest() {
  const written: Buffer[] = [];
  const input = new PassThrough();
  const dev = new ConsoleDevice({ output: { write: (c) => written.push(Buffer.from(c)) }, input });
  const g = makeGuest(dev);
  expect(g.driver.init(TRANSPORT_FEATURES, DEVICE_ID_CONSOLE)).toBe(TRANSPORT_FEATURES);
  const rx = g.driver.setupQueue(CONSOLE_RECEIVEQ);
  const tx = g.driver.setupQueue(CONSOLE_TRANSMITQ);
  g.driver.driverOk();
  return { ...g, dev, rx, tx, input, written };
}

describe('virtio-console port 0 / hvc0 (virtio 1.2 §5.3)', () => {
  it('writes what the guest transmits to the output, in order, split buffers joined', async () => {
    const { driver, tx, written, dev } = consoleGuest();
    const enc = new TextEncoder();
    tx.add([{ addr: driver.place(enc.encode('hello ')), len: 6, write: false }]);
    tx.add(
      [
        { addr: driver.place(enc.encode('from ')), len: 5, write: false },
        { addr: driver.place(enc.encode('hvc0\n')), len: 5, write: false },
      ],
      { indirect: true },
    );
    tx.kick();
    const used = await tx.waitUsed(2);
    expect(used.map((u) => u.len)).toEqual([0, 0]);
    expect(Buffer.concat(written).toString()).toBe('hello from hvc0\n');
    dev.close();
  });

  it('delivers input into posted receive buffers, holding it until buffers come', async () => {
    const { driver, rx, input, mem, dev } = consoleGuest();
    // Input before any buffer is posted is held.
    input.write('abcdefghij');
    await new Promise((r) => setImmediate(r));
    expect(rx.usedIdx()).toBe(0);
    const a = driver.buffer(4, 0);
    const b = driver.buffer(16, 0);
    rx.add([{ addr: a, len: 4, write: true }]);
    rx.add([{ addr: b, len: 16, write: true }]);
    rx.kick();
    const used = await rx.waitUsed(2);
    expect(used.map((u) => u.len)).toEqual([4, 6]);
    expect(Buffer.from(mem.slice(a, 4)!).toString()).toBe('abcd');
    expect(Buffer.from(mem.slice(b, 6)!).toString()).toBe('efghij');
    // Input while a buffer waits goes straight in.
    const c = driver.buffer(8, 0);
    rx.add([{ addr: c, len: 8, write: true }]);
    rx.kick();
    input.write('xyz');
    const [u] = await rx.waitUsed(1);
    expect(u!.len).toBe(3);
    expect(Buffer.from(mem.slice(c, 3)!).toString()).toBe('xyz');
    dev.close();
  });

  it('writes to a file descriptor output', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vmm-con-')), 'out.txt');
    const fd = fs.openSync(file, 'w');
    const dev = new ConsoleDevice({ output: fd });
    const g = makeGuest(dev);
    g.driver.init(TRANSPORT_FEATURES);
    g.driver.setupQueue(0);
    const tx = g.driver.setupQueue(1);
    g.driver.driverOk();
    const line = 'a line to hvc0\n';
    tx.add([{ addr: g.driver.place(new TextEncoder().encode(line)), len: line.length, write: false }]);
    tx.kick();
    await tx.waitUsed(1);
    fs.closeSync(fd);
    expect(fs.readFileSync(file, 'utf8')).toBe(line);
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});
