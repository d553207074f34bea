import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { COM1_PORT, UART_RX_RING, Uart16550, createUartState } from './uart16550';

const THR = COM1_PORT;
const IER = COM1_PORT + 1;
const IIR = COM1_PORT + 2;
const LCR = COM1_PORT + 3;
const LSR = COM1_PORT + 5;

function rig() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uart-'));
  const file = path.join(dir, 'out');
  const fd = fs.openSync(file, 'w');
  let irqs = 0;
  const state = createUartState();
  const uart = new Uart16550(state, { fd }, { trigger: () => irqs++ });
  const b = new Uint8Array(1);
  return {
    uart,
    state,
    out: () => fs.readFileSync(file, 'latin1'),
    close: () => fs.closeSync(fd),
    irqs: () => irqs,
    inb: (port: number) => (uart.pioRead(port, b), b[0]!),
    outb: (port: number, v: number) => uart.pioWrite(port, Uint8Array.of(v)),
  };
}

describe('16550 UART', () => {
  it('writes every byte the guest sends, in order, none dropped (64 KiB of known text)', () => {
    const r = rig();
    const text = Array.from({ length: 2048 }, (_, i) => `line ${i} ${'x'.repeat(i % 17)}\n`).join('');
    for (const ch of Buffer.from(text, 'latin1')) r.outb(THR, ch);
    r.close();
    expect(r.out()).toBe(text);
  });

  it('reports the transmitter empty in LSR and raises THRE when enabled, cleared by reading IIR', () => {
    const r = rig();
    expect(r.inb(LSR) & 0x60).toBe(0x60);
    expect(r.inb(IIR) & 0x0f).toBe(0x01); // nothing pending
    r.outb(IER, 0x02);
    expect(r.irqs()).toBe(1);
    expect(r.inb(IIR) & 0x0f).toBe(0x02);
    expect(r.inb(IIR) & 0x0f).toBe(0x01); // read cleared it
    r.outb(THR, 0x41);
    expect(r.irqs()).toBe(2);
    r.close();
  });

  it('delivers host input through RBR with data-ready and a receive interrupt', () => {
    const r = rig();
    r.outb(IER, 0x01);
    expect(r.uart.pushInput(Buffer.from('hi\n'))).toBe(3);
    expect(r.irqs()).toBe(1);
    expect(r.inb(IIR) & 0x0f).toBe(0x04);
    let got = '';
    while (r.inb(LSR) & 1) got += String.fromCharCode(r.inb(THR));
    expect(got).toBe('hi\n');
    expect(r.inb(IIR) & 0x0f).toBe(0x01);
    r.close();
  });

  it('accepts input only up to its ring and keeps the rest for the caller', () => {
    const r = rig();
    const big = new Uint8Array(UART_RX_RING + 100).fill(0x61);
    const n = r.uart.pushInput(big);
    expect(n).toBe(UART_RX_RING - 1);
    expect(r.uart.rxPending()).toBe(UART_RX_RING - 1);
    r.close();
  });

  it('keeps the divisor latch apart from data when DLAB is set', () => {
    const r = rig();
    r.outb(LCR, 0x80);
    r.outb(THR, 0x01);
    r.outb(IER, 0x00);
    expect(r.inb(THR)).toBe(0x01);
    r.outb(LCR, 0x03);
    r.close();
    expect(r.out()).toBe('');
  });

  it('is one device for every thread: a worker writing through the shared state is seen here', async () => {
    const r = rig();
    r.outb(IER, 0x01);
    const src = `
      const { workerData } = require('node:worker_threads');
      const s = new Int32Array(workerData, 0, 12);
      // A second thread takes the same lock the UART takes, and holds it for a while.
      while (Atomics.compareExchange(s, 0, 0, 1) !== 0);
      const t = Date.now(); while (Date.now() - t < 50);
      Atomics.store(s, 0, 0); Atomics.notify(s, 0);
    `;
    const w = new Worker(src, { eval: true, workerData: r.state });
    await new Promise((res) => setTimeout(res, 10));
    r.uart.pushInput(Buffer.from('x')); // waits for the worker's lock, then succeeds
    await new Promise((res) => w.on('exit', res));
    expect(r.inb(THR)).toBe(0x78);
    r.close();
  });
});
