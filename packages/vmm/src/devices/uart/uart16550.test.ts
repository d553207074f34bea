import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { createHostPipe } from '@vmm/hypervisor';
import { startModuleWorker } from '../../worker-url';
import { COM1_PORT, UART_RX_RING, Uart16550, createUartState, uartStateFault } from './uart16550';

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
    fd,
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

  it('a saved state is restorable only as the UART leaves it: locks free, registers, ring indices and counters in range', () => {
    const r = rig();
    expect(uartStateFault(new Uint8Array(r.state))).toBeUndefined();
    // Every register written with all ones, input pending, output counted: still a state it makes.
    for (let reg = 0; reg < 8; reg++) r.outb(COM1_PORT + reg, 0xff);
    r.outb(LCR, 0x03);
    r.uart.pushInput(Buffer.from('typed'));
    r.outb(THR, 0x41);
    r.close();
    const used = new Uint8Array(r.state);
    expect(uartStateFault(used)).toBeUndefined();
    const changed = (slot: number, value: number) => {
      const b = used.slice();
      new DataView(b.buffer).setInt32(slot * 4, value, true);
      return uartStateFault(b);
    };
    expect(changed(0, 1)).toMatch(/lock held/); // the register lock: it would hang pushInput
    expect(changed(13, 1)).toMatch(/lock held/); // the transmitter's
    expect(changed(9, UART_RX_RING)).toMatch(/outside the ring/);
    expect(changed(10, -1)).toMatch(/outside the ring/);
    expect(changed(1, 0x10)).toMatch(/slot 1 holds 16/); // IER keeps 4 bits
    expect(changed(8, 2)).toMatch(/slot 8/);
    expect(changed(12, 0x1ff << 8)).toMatch(/transmitter word/);
    expect(changed(12, 2)).toMatch(/transmitter word/);
    expect(changed(12, (0x41 + 1) << 8)).toBeUndefined(); // a byte held by a pause
    const counter = used.slice();
    const at = counter.length - 16;
    new DataView(counter.buffer).setFloat64(at, Number.NaN, true);
    expect(uartStateFault(counter)).toMatch(/counter NaN/);
    new DataView(counter.buffer).setFloat64(at, -1, true);
    expect(uartStateFault(counter)).toMatch(/counter -1/);
    expect(uartStateFault(used.subarray(1))).toMatch(/bytes, not/);
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

  it('is one device for every thread: a worker drives it at the same time, and each side sees the other', async () => {
    const r = rig();
    const go = new SharedArrayBuffer(12);
    const flags = new Int32Array(go);
    const count = 20_000;
    const w = startModuleWorker(new URL('./test-support/uart-worker.ts', import.meta.url), {
      workerData: { state: r.state, fd: r.fd, count, go },
    });
    const done = new Promise<{ line: string; wrote: number }>(
      (res, rej) => (w.once('message', res), w.once('error', rej)),
    );
    await new Promise((res) => setTimeout(res, 500)); // the worker is up and waiting for go
    // Both threads write THR at once: every byte of each lands, under the one lock.
    // Each side writes on until the other has written its share, and once more after: the two
    // runs overlap whatever the scheduler does.
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    let wrote = 0;
    do {
      r.outb(THR, 0x61);
      Atomics.store(flags, 1, ++wrote);
    } while (wrote < count || Atomics.load(flags, 2) < count);
    // Input from this side is read by the worker; its answer is read here.
    expect(r.uart.pushInput(Buffer.from('ping from main\n'))).toBe(15);
    const worker = await done;
    expect(worker.line).toBe('ping from main\n');
    let got = '';
    for (let i = 0; i < 1000 && !got.endsWith('\n'); i++)
      if (r.inb(LSR) & 1) got += String.fromCharCode(r.inb(THR));
    expect(got).toBe('pong from the worker\n');
    await w.terminate();
    r.close();
    const out = r.out();
    // Every byte of each side landed, none lost or torn under the shared lock.
    expect(out.length).toBe(wrote + worker.wrote);
    expect(out.replaceAll('b', '').length).toBe(wrote);
    // Interleaved: each side's last byte came after the other's count-th, so there are at least
    // three runs (a..b..a or b..a..b), whatever the scheduler did.
    expect(/a+b+a|b+a+b/.test(out)).toBe(true);
  });

  it('a sink nobody reads holds up neither host input nor the registers, loses nothing while it may still take output or across a pause, and is given up at a stop', async () => {
    // A full pipe: what a terminal or a library's capture is when nothing reads it. Before, the
    // vCPU waited on it holding the UART's lock, and the main thread's host input waited for the
    // lock: the monitor hung for good (found with the library, a chatty guest and console.write).
    const { readFd, writeFd, filled, fill, readInto, words, thread, close } = fullPipeRig();
    try {
      const vcpu = await thread(writeFd);
      const host = await thread(null);
      // The vCPU's byte waits on the full pipe: no answer yet.
      let wrote: { output: { written: number; dropped: number }; notices: string[] } | undefined;
      const first = next(vcpu).then((m) => (wrote = m as typeof wrote));
      vcpu.postMessage({ write: 0x41 });
      await sleep(200);
      expect(wrote).toBeUndefined();
      // Meanwhile host input goes in and another thread reads the registers (data ready).
      host.postMessage({ input: 'hi' });
      expect(await within(next(host), 2000)).toEqual({ took: 2 });
      host.postMessage({ lsr: true });
      expect(((await within(next(host), 2000)) as { lsr: number }).lsr & 1).toBe(1);
      // The reader comes back: the byte is written, after everything that was in the pipe.
      const drained = Buffer.alloc(filled + 16);
      let got = 0;
      await within(
        (async () => {
          while (wrote === undefined) {
            try {
              got += fs.readSync(readFd, drained, got, drained.length - got, null);
            } catch {
              await sleep(5); // EAGAIN: the byte is not written yet
            }
          }
        })(),
        5000,
      );
      await first;
      expect(wrote!.output).toEqual({ written: 1, dropped: 0 });
      got = await readInto(drained, got, filled + 1, 50);
      expect(got).toBe(filled + 1);
      expect(drained[filled]).toBe(0x41);
      // Full again, and a pause comes: the waiting byte is held back (the vCPU can park), and
      // sent, after what the pipe held, once the pause is over and the reader reads.
      const refilled = fill();
      const paused = next(vcpu);
      vcpu.postMessage({ write: 0x43 });
      await sleep(200);
      Atomics.store(words, 1, 1);
      expect(((await within(paused, 2000)) as NonNullable<typeof wrote>).output).toEqual({
        written: 1,
        dropped: 0,
      });
      Atomics.store(words, 1, 0);
      const flushed = next(vcpu);
      vcpu.postMessage({ flush: true });
      const tail = Buffer.alloc(refilled + 16);
      const gotTail = await readInto(tail, 0, refilled + 1);
      expect(((await within(flushed, 2000)) as NonNullable<typeof wrote>).output).toEqual({
        written: 2,
        dropped: 0,
      });
      expect(gotTail).toBe(refilled + 1);
      expect(tail[refilled]).toBe(0x43);
      // Full again, and the VM stops: the waiting byte is dropped and told, the thread goes on.
      fill();
      const second = next(vcpu);
      vcpu.postMessage({ write: 0x42 });
      await sleep(200);
      Atomics.store(words, 0, 1);
      const after = (await within(second, 2000)) as NonNullable<typeof wrote>;
      expect(after.output).toEqual({ written: 2, dropped: 1 });
      expect(after.notices.join('\n')).toContain('took no more when the VM stopped');
    } finally {
      await close();
    }
  });

  it('a pause parks two vCPUs writing into a full sink at once: the first byte is held back, the second dropped and said', async () => {
    // Before, the second vCPU, behind a held byte, waited on the sink for a stop only: with the
    // terminal or pipe not read, the pause (and a snapshot, and the API behind it) never ended.
    const { filled, readInto, words, thread, close } = fullPipeRig();
    type Answer = { output: { written: number; dropped: number }; notices: string[] };
    try {
      const a = await thread();
      const b = await thread();
      const first = next(a);
      a.postMessage({ write: 0x41 });
      await sleep(200);
      Atomics.store(words, 1, 1); // pause
      expect(((await within(first, 2000)) as Answer).output).toEqual({ written: 0, dropped: 0 });
      const second = next(b);
      b.postMessage({ write: 0x42 });
      const dropped = (await within(second, 2000)) as Answer;
      expect(dropped.output).toEqual({ written: 0, dropped: 1 });
      expect(dropped.notices.join('\n')).toMatch(/held back by a pause .* was dropped/);
      // After the pause the held byte goes out, after what the pipe held; the dropped one never.
      Atomics.store(words, 1, 0);
      const flushed = next(a);
      a.postMessage({ flush: true });
      const all = Buffer.alloc(filled + 16);
      const got = await readInto(all, 0, filled + 1);
      expect(((await within(flushed, 2000)) as Answer).output).toEqual({ written: 1, dropped: 1 });
      expect(got).toBe(filled + 1);
      expect(all[filled]).toBe(0x41);
    } finally {
      await close();
    }
  });

  it('stops a log file at its limit with a marker line, and drops (never throws on) a failing output', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uart-'));
    const file = path.join(dir, 'out');
    const fd = fs.openSync(file, 'w');
    const notices: string[] = [];
    const uart = new Uart16550(
      createUartState(),
      { fd, limit: 100, notice: (_k, l) => notices.push(l) },
      { trigger: () => {} },
    );
    for (let i = 0; i < 1000; i++) uart.pioWrite(THR, Uint8Array.of(0x41 + (i % 26)));
    fs.closeSync(fd);
    const text = fs.readFileSync(file, 'latin1');
    expect(text.startsWith('ABCDEFGHIJ')).toBe(true);
    expect(text).toContain('[vmm: serial output reached its limit of 100 bytes; the rest is dropped]');
    expect(text.length).toBeLessThan(200);
    expect(uart.output).toEqual({ written: 100, dropped: 900 });
    expect(notices).toHaveLength(1);
    // A pipe whose reader is gone (EPIPE: Node ignores SIGPIPE), a full disk (ENOSPC, /dev/full):
    // the guest goes on; its bytes are counted as dropped.
    for (const [out, code] of [
      [brokenPipe(dir), 'EPIPE'],
      [fs.openSync('/dev/full', 'w'), 'ENOSPC'],
    ] as const) {
      const broken = new Uart16550(
        createUartState(),
        { fd: out, notice: (_k, l) => notices.push(l) },
        { trigger: () => {} },
      );
      for (let i = 0; i < 10; i++) expect(() => broken.pioWrite(THR, Uint8Array.of(0x41))).not.toThrow();
      expect(broken.output).toEqual({ written: 0, dropped: 10 });
      expect(notices.at(-1)).toContain(`serial output failed (${code})`);
      fs.closeSync(out);
    }
  });
});

/** A pipe whose reader is gone: the write end of a FIFO whose read end was closed (EPIPE). */
export function brokenPipe(dir: string): number {
  const fifo = path.join(dir, 'broken.fifo');
  execFileSync('mkfifo', [fifo]);
  const rd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const wr = fs.openSync(fifo, fs.constants.O_WRONLY);
  fs.closeSync(rd);
  return wr;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A pipe filled until it takes no more (what a terminal or a library's capture is when nothing
 * reads it), and threads driving one UART on it on command (test-support/uart-thread.ts), each
 * a vCPU's (the pipe as its sink) or the host input side's (none), with stop and pause words.
 */
function fullPipeRig() {
  const { readFd, writeFd } = createHostPipe();
  const chunk = Buffer.alloc(65536, 0x2e);
  /** Fill the pipe again: the bytes it took. */
  const fill = () => {
    let n = 0;
    for (;;) {
      try {
        n += fs.writeSync(writeFd, chunk);
      } catch {
        return n; // EAGAIN: full
      }
    }
  };
  const filled = fill();
  /** Read the pipe into `buf` from `got` until it holds `want` bytes or `tries` reads came up empty: the count. */
  const readInto = async (buf: Buffer, got: number, want: number, tries = 400) => {
    for (let i = 0; i < tries && got < want; i++) {
      try {
        got += fs.readSync(readFd, buf, got, buf.length - got, null);
      } catch {
        await sleep(5); // EAGAIN: nothing yet
      }
    }
    return got;
  };
  const state = createUartState();
  const control = new SharedArrayBuffer(8); // stop, pause
  const threads: Worker[] = [];
  const thread = async (fd: number | null = writeFd) => {
    const w = startModuleWorker(new URL('./test-support/uart-thread.ts', import.meta.url), {
      workerData: { state, fd, control },
    });
    threads.push(w);
    await next(w);
    return w;
  };
  const close = async () => {
    for (const w of threads) await w.terminate();
    fs.closeSync(readFd);
    fs.closeSync(writeFd);
  };
  return { readFd, writeFd, filled, fill, readInto, words: new Int32Array(control), thread, close };
}

/** The next message a worker posts (its error rejects). */
function next(w: Worker): Promise<unknown> {
  return new Promise((res, rej) => {
    w.once('message', res);
    w.once('error', rej);
  });
}

/** `p`, or a rejection after `ms`: a thread that should have answered and did not fails the test. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`no answer within ${ms} ms`)), ms))),
  ]);
}
