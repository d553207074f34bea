import { execFileSync } from 'node:child_process';
import nodeFs from 'node:fs';
import nodeOs from 'node:os';
import nodePath from 'node:path';
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

  /** A guest with hvc0 on `output`; `send(text)` transmits one buffer and waits for it to be used. */
  function txGuest(opts: ConstructorParameters<typeof ConsoleDevice>[0]) {
    const dev = new ConsoleDevice(opts);
    const g = makeGuest(dev);
    g.driver.init(TRANSPORT_FEATURES);
    g.driver.setupQueue(0);
    const tx = g.driver.setupQueue(1);
    g.driver.driverOk();
    const send = async (bytes: Uint8Array) => {
      tx.add([{ addr: g.driver.place(bytes), len: bytes.length, write: false }]);
      tx.kick();
      await tx.waitUsed(1);
    };
    return { dev, g, tx, send };
  }

  it('a file output stops at its limit; a failing output (EPIPE, ENOSPC) drops the text, never the VM', async () => {
    const dir = nodeFs.mkdtempSync(nodePath.join(nodeOs.tmpdir(), 'vmm-con-'));
    const file = nodePath.join(dir, 'out.txt');
    const fd = nodeFs.openSync(file, 'w');
    const lines: string[] = [];
    const a = txGuest({ output: fd, outputLimit: 100, log: (_k, l) => lines.push(l) });
    await a.send(Buffer.alloc(60, 0x61));
    await a.send(Buffer.alloc(60, 0x62));
    await a.send(Buffer.alloc(60, 0x63));
    nodeFs.closeSync(fd);
    expect(nodeFs.readFileSync(file, 'latin1')).toBe('a'.repeat(60) + 'b'.repeat(40));
    expect(a.dev.stats).toMatchObject({ txBytes: 100, txDropped: 80 });
    expect(lines.some((l) => /reached its limit of 100 bytes/.test(l))).toBe(true);
    // A FIFO whose reader is gone (EPIPE) and /dev/full (ENOSPC).
    const fifo = nodePath.join(dir, 'gone.fifo');
    execFileSync('mkfifo', [fifo]);
    const rd = nodeFs.openSync(fifo, nodeFs.constants.O_RDONLY | nodeFs.constants.O_NONBLOCK);
    const wr = nodeFs.openSync(fifo, nodeFs.constants.O_WRONLY);
    nodeFs.closeSync(rd);
    for (const [out, code] of [
      [wr, 'EPIPE'],
      [nodeFs.openSync('/dev/full', 'w'), 'ENOSPC'],
    ] as const) {
      const b = txGuest({ output: out, log: (_k, l) => lines.push(l) });
      await b.send(Buffer.from('lost\n'));
      await b.send(Buffer.from('lost too\n'));
      expect(b.dev.stats).toMatchObject({ txBytes: 0, txDropped: 14 });
      expect(lines.at(-1)).toContain(`output failed (${code})`);
      expect(b.g.transport.deviceStatus & 64).toBe(0); // not parked: the device goes on
      nodeFs.closeSync(out);
    }
    nodeFs.rmSync(dir, { recursive: true });
  });

  it('writes at most 64 KiB of one buffer, and waits for a stream output to drain', async () => {
    const written: Buffer[] = [];
    let full = true;
    const drains: (() => void)[] = [];
    const sink = {
      write: (c: Uint8Array) => (written.push(Buffer.from(c)), !full),
      once: (_e: 'drain', f: () => void) => void drains.push(f),
    };
    const { dev, g, tx } = txGuest({ output: sink });
    // A 1 MiB buffer: the first 64 KiB go out, the rest is counted as dropped.
    const big = g.driver.buffer(1 << 20, 0x7a);
    tx.add([{ addr: big, len: 1 << 20, write: false }]);
    tx.add([{ addr: g.driver.place(Buffer.from('after')), len: 5, write: false }]);
    tx.kick();
    await tx.waitUsed(1);
    expect(written.map((b) => b.length)).toEqual([64 * 1024]);
    expect(dev.stats.txDropped).toBe((1 << 20) - 64 * 1024);
    // The stream said it is full: the next buffer waits in the ring until it drains.
    await new Promise((r) => setTimeout(r, 50));
    expect(tx.usedIdx()).toBe(1);
    expect(drains).toHaveLength(1);
    full = false;
    drains[0]!();
    await tx.waitUsed(1);
    expect(Buffer.concat(written.slice(1)).toString()).toBe('after');
  });
});
