// 16550A UART (COM1 at 0x3f8, IRQ 4), after the National Semiconductor PC16550D data sheet.
// The register state lives in a SharedArrayBuffer so every vCPU worker runs the same UART
// in its own thread (no round trip to the main thread per character), under a tiny lock.
// Output is written at once to a file descriptor and is never dropped while the sink takes it
// (a full non-blocking terminal is waited out, under a lock of its own, so that host input and the
// other vCPUs' register accesses never wait on a sink nobody reads); it stops at the sink's byte
// limit (a log file's `max`, marked in the file) or when the sink fails (EPIPE, ENOSPC): the
// guest's output is then dropped and counted, and the VM goes on. A VM that is stopping stops
// waiting on a full sink and drops what it had not taken; one that is pausing holds the byte back
// (in the shared state, so a snapshot keeps it) and sends it before the guest runs again. Input arrives from the main thread through
// `pushInput` into a receive ring larger than the chip's 16-byte FIFO.
import fs from 'node:fs';

export const COM1_PORT = 0x3f8;
export const COM1_IRQ = 4;

// Register offsets (PC16550D table 2).
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

const IER_RDA = 0x01; // received data available
const IER_THRE = 0x02; // transmitter holding register empty
const IIR_NONE = 0x01;
const IIR_THRE = 0x02;
const IIR_RDA = 0x04;
const IIR_FIFO_ENABLED = 0xc0;
const LCR_DLAB = 0x80;
const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const MCR_LOOP = 0x10;
const MSR_DEFAULT = 0xb0; // DCD | DSR | CTS: a modem that is always there

// Shared state layout: Int32 slots, then the receive ring.
const S_LOCK = 0;
const S_IER = 1;
const S_LCR = 2;
const S_MCR = 3;
const S_SCR = 4;
const S_DLL = 5;
const S_DLM = 6;
const S_FCR = 7;
const S_THRE_PENDING = 8; // THRE interrupt latched until IIR read or THR write
const S_RX_HEAD = 9; // read index (consumer: guest)
const S_RX_TAIL = 10; // write index (producer: host)
const S_IRQ_ASSERTED = 11;
// Bit 0: the sink failed or reached its limit (output is dropped). Bits 8-16: a byte (+1) held back
// because a pause came while the sink took nothing; it goes out first after the pause.
const S_TX = 12;
const TX_CLOSED = 1;
const TX_HELD_SHIFT = 8;
const S_TX_LOCK = 13; // the transmitter: held while a byte goes to the sink (the counters too)
const SLOTS = 14; // the ring's offset (and the state's size) is as with 13: slot 13 was padding
export const UART_RX_RING = 4096;
/** Float64 counters after the ring (8-aligned): bytes written to the sink, bytes dropped. */
const COUNTERS_OFFSET = Math.ceil((SLOTS * 4 + UART_RX_RING) / 8) * 8;
const C_WRITTEN = 0;
const C_DROPPED = 1;
const COUNTERS = 2;
/** The whole state's size: the slots, the ring, the counters. */
const STATE_BYTES = COUNTERS_OFFSET + COUNTERS * 8;

/** The shared buffer to pass to each thread's Uart16550 over the same state. */
export function createUartState(): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(STATE_BYTES);
  const s = new Int32Array(sab, 0, SLOTS);
  s[S_DLL] = 12; // 9600 baud until the guest programs it
  s[S_THRE_PENDING] = 0;
  return sab;
}

/** The largest value each register slot holds (the bits the UART keeps of what the guest wrote). */
const SLOT_MAX: readonly [slot: number, max: number][] = [
  [S_IER, 0x0f],
  [S_LCR, 0xff],
  [S_MCR, 0x1f],
  [S_SCR, 0xff],
  [S_DLL, 0xff],
  [S_DLM, 0xff],
  [S_FCR, 0xff],
  [S_THRE_PENDING, 1],
  [S_IRQ_ASSERTED, 1],
];

/**
 * Why `bytes` cannot be a saved COM1 state (a snapshot's, taken from createUartState's buffer while
 * the VM was paused), or undefined when it can. A snapshot is input: a lock word left held would
 * hang the first thread that takes it (the main thread with host input), a ring index out of
 * range would read outside the ring, a counter that is not a count would lift a file's limit.
 */
export function uartStateFault(bytes: Uint8Array): string | undefined {
  if (bytes.length !== STATE_BYTES) return `state is ${bytes.length} bytes, not ${STATE_BYTES}`;
  const copy = bytes.slice(); // aligned, whatever the view it came in
  const s = new Int32Array(copy.buffer, 0, SLOTS);
  if (s[S_LOCK] !== 0 || s[S_TX_LOCK] !== 0) return 'state has a lock held (none is while the VM is paused)';
  for (const [slot, max] of SLOT_MAX)
    if (s[slot]! < 0 || s[slot]! > max) return `register slot ${slot} holds ${s[slot]}, past ${max}`;
  for (const slot of [S_RX_HEAD, S_RX_TAIL])
    if (s[slot]! < 0 || s[slot]! >= UART_RX_RING) return `receive ring index ${s[slot]} is outside the ring`;
  const tx = s[S_TX]!;
  if ((tx & ~(TX_CLOSED | (0x1ff << TX_HELD_SHIFT))) !== 0 || tx >> TX_HELD_SHIFT > 0x100)
    return `transmitter word ${tx} is not a flag and a held byte`;
  const counters = new Float64Array(copy.buffer, COUNTERS_OFFSET, COUNTERS);
  for (const c of counters) if (!Number.isSafeInteger(c) || c < 0) return `byte counter ${c} is not a count`;
  return undefined;
}

/** How the UART raises its interrupt line: an edge on the IRQ (an irqfd write, or a callback). */
export interface IrqTrigger {
  trigger(): void;
}

/**
 * Where the guest's output goes: a file descriptor (stdout, a file) or nowhere. `limit`: bytes
 * written at most (a log file's bound). `notice`: told once when output starts being dropped.
 * `stopping`: true once the VM is being stopped; a full sink (a pipe nobody reads) is then given up,
 * so a stop never waits on it. `pausing`: true while a pause is asked for; the byte waiting on a
 * full sink is then held back, so the vCPU can park. Only a non-blocking sink can be left so: a
 * blocking write waits in the kernel (machine/output-file.ts hands the vCPU threads non-blocking
 * descriptions).
 */
export type UartSink = {
  fd: number;
  limit?: number;
  notice?: (kind: string, line: string) => void;
  stopping?: () => boolean;
  pausing?: () => boolean;
} | null;

export class Uart16550 {
  private readonly s: Int32Array;
  private readonly rx: Uint8Array;
  private readonly counters: Float64Array;
  private readonly one = new Uint8Array(1);
  /** The sink is to be left now: the VM stops, or pauses (made once: asked on every EAGAIN). */
  private readonly leaveSink: () => boolean;

  constructor(
    state: SharedArrayBuffer,
    private readonly sink: UartSink,
    private readonly irq: IrqTrigger,
  ) {
    const stopping = sink?.stopping;
    const pausing = sink?.pausing;
    this.leaveSink = () => (stopping?.() ?? false) || (pausing?.() ?? false);
    this.s = new Int32Array(state, 0, SLOTS);
    this.rx = new Uint8Array(state, SLOTS * 4, UART_RX_RING);
    this.counters = new Float64Array(state, COUNTERS_OFFSET, COUNTERS);
  }

  /** Bytes of guest output written to the sink, and dropped (over the limit, or the sink failed). */
  get output(): { written: number; dropped: number } {
    return { written: this.counters[C_WRITTEN]!, dropped: this.counters[C_DROPPED]! };
  }

  pioRead(port: number, data: Uint8Array): void {
    this.lock();
    try {
      data[0] = this.read(port & 7);
      data.fill(0, 1);
    } finally {
      this.unlock();
    }
  }

  pioWrite(port: number, data: Uint8Array): void {
    let out: number;
    this.lock();
    try {
      out = this.write(port & 7, data[0] ?? 0);
    } finally {
      this.unlock();
    }
    if (out >= 0) this.transmit(out);
  }

  /** Host input for the guest (main thread). Returns how many bytes fitted; the rest is the caller's to retry. */
  pushInput(bytes: Uint8Array): number {
    this.lock();
    try {
      let n = 0;
      for (; n < bytes.length; n++) {
        if (!this.rxPush(bytes[n] ?? 0)) break;
      }
      if (n > 0) this.updateIrq();
      return n;
    } finally {
      this.unlock();
    }
  }

  /** Bytes waiting for the guest to read. */
  rxPending(): number {
    return (this.s[S_RX_TAIL]! - this.s[S_RX_HEAD]! + UART_RX_RING) % UART_RX_RING;
  }

  private read(reg: number): number {
    const s = this.s;
    const dlab = (s[S_LCR]! & LCR_DLAB) !== 0;
    switch (reg) {
      case RBR_THR_DLL: {
        if (dlab) return s[S_DLL]!;
        const b = this.rxPop();
        this.updateIrq();
        return b;
      }
      case IER_DLM:
        return dlab ? s[S_DLM]! : s[S_IER]!;
      case IIR_FCR: {
        const iir = this.iir();
        // Reading IIR with THRE as the source clears that source (data sheet, table 4).
        if ((iir & 0x0f) === IIR_THRE) {
          s[S_THRE_PENDING] = 0;
          this.updateIrq();
        }
        return iir | ((s[S_FCR]! & 1) !== 0 ? IIR_FIFO_ENABLED : 0);
      }
      case LCR:
        return s[S_LCR]!;
      case MCR:
        return s[S_MCR]!;
      case LSR:
        return LSR_THRE | LSR_TEMT | (this.rxPending() > 0 ? LSR_DR : 0);
      case MSR:
        return (s[S_MCR]! & MCR_LOOP) !== 0 ? 0 : MSR_DEFAULT;
      case SCR:
        return s[S_SCR]!;
      default:
        return 0xff;
    }
  }

  /** A register write; returns the byte the guest transmitted (for `transmit`, after the lock), or -1. */
  private write(reg: number, value: number): number {
    const s = this.s;
    const dlab = (s[S_LCR]! & LCR_DLAB) !== 0;
    switch (reg) {
      case RBR_THR_DLL: {
        if (dlab) {
          s[S_DLL] = value;
          return -1;
        }
        const loop = (s[S_MCR]! & MCR_LOOP) !== 0;
        if (loop) this.rxPush(value);
        // The transmitter is instantly empty again: THRE interrupt if enabled. The vCPU that wrote
        // is still in its exit until the byte is out (transmit), so it cannot act on it first.
        s[S_THRE_PENDING] = 1;
        this.updateIrq();
        return loop ? -1 : value;
      }
      case IER_DLM:
        if (dlab) {
          s[S_DLM] = value;
          return -1;
        }
        {
          const before = s[S_IER]!;
          s[S_IER] = value & 0x0f;
          // Enabling THRE while the holding register is empty raises the interrupt at once.
          if ((value & IER_THRE) !== 0 && (before & IER_THRE) === 0) s[S_THRE_PENDING] = 1;
          this.updateIrq();
        }
        return -1;
      case IIR_FCR:
        s[S_FCR] = value;
        if ((value & 0x02) !== 0) s[S_RX_HEAD] = s[S_RX_TAIL]!; // clear receive FIFO
        this.updateIrq();
        return -1;
      case LCR:
        s[S_LCR] = value;
        return -1;
      case MCR:
        s[S_MCR] = value & 0x1f;
        return -1;
      case SCR:
        s[S_SCR] = value;
        return -1;
      default:
        return -1; // LSR and MSR are read-only
    }
  }

  private iir(): number {
    const s = this.s;
    const ier = s[S_IER]!;
    if ((ier & IER_RDA) !== 0 && this.rxPending() > 0) return IIR_RDA;
    if ((ier & IER_THRE) !== 0 && s[S_THRE_PENDING] === 1) return IIR_THRE;
    return IIR_NONE;
  }

  /** Raise an edge when an interrupt condition appears; remember it until it clears. */
  private updateIrq(): void {
    const pending = this.iir() !== IIR_NONE;
    const was = this.s[S_IRQ_ASSERTED] === 1;
    this.s[S_IRQ_ASSERTED] = pending ? 1 : 0;
    if (pending && !was) this.irq.trigger();
  }

  /**
   * One byte to the sink under the transmitter's lock, which keeps bytes in order between vCPUs
   * (a byte held back by a pause goes first). A vCPU waiting for the lock while the VM stops gives
   * up (its byte is dropped, uncounted: the counters are the lock holder's).
   */
  private transmit(byte: number): void {
    const sink = this.sink;
    if (!sink || !this.lockTx(sink)) return;
    try {
      this.sendHeld(sink);
      // One byte can be held back by a pause. Another vCPU's, behind it, is dropped if the sink
      // is still full when a pause comes: waiting on, it would keep its vCPU from parking, and
      // the pause (a snapshot, the API behind it) would wait on a terminal nobody reads.
      this.emit(sink, byte, this.held() < 0);
    } finally {
      this.unlockTx();
    }
  }

  /** Send the byte a pause held back, if any: a vCPU thread calls this before it runs the guest again. */
  flushHeld(): void {
    const sink = this.sink;
    if (!sink || this.held() < 0 || !this.lockTx(sink)) return;
    try {
      this.sendHeld(sink);
    } finally {
      this.unlockTx();
    }
  }

  /** The byte held back by a pause, or -1. */
  private held(): number {
    return (this.s[S_TX]! >> TX_HELD_SHIFT) - 1;
  }

  private setHeld(byte: number): void {
    this.s[S_TX] = (this.s[S_TX]! & TX_CLOSED) | ((byte + 1) << TX_HELD_SHIFT);
  }

  private sendHeld(sink: NonNullable<UartSink>): void {
    const held = this.held();
    if (held < 0) return;
    this.setHeld(-1);
    this.emit(sink, held, true);
  }

  private lockTx(sink: NonNullable<UartSink>): boolean {
    while (Atomics.compareExchange(this.s, S_TX_LOCK, 0, 1) !== 0) {
      if (sink.stopping?.()) return false;
      Atomics.wait(this.s, S_TX_LOCK, 1, 1);
    }
    return true;
  }

  private unlockTx(): void {
    Atomics.store(this.s, S_TX_LOCK, 0);
    Atomics.notify(this.s, S_TX_LOCK, 1);
  }

  /**
   * One byte to the sink, under the transmitter's lock (so the counters and the flags are
   * consistent). `mayHold`: a pause may hold it back; otherwise only a stop ends a wait on the sink.
   */
  private emit(sink: NonNullable<UartSink>, byte: number, mayHold: boolean): void {
    const c = this.counters;
    if ((this.s[S_TX]! & TX_CLOSED) !== 0) {
      c[C_DROPPED]!++;
      return;
    }
    const limit = sink.limit ?? Infinity;
    this.one[0] = byte;
    try {
      if (c[C_WRITTEN]! >= limit) {
        this.s[S_TX]! |= TX_CLOSED;
        c[C_DROPPED]!++;
        // vmm's own line: a stop or a pause may cut it short.
        writeFully(
          sink.fd,
          new TextEncoder().encode(
            `\n[vmm: serial output reached its limit of ${limit} bytes; the rest is dropped]\n`,
          ),
          this.leaveSink,
        );
        sink.notice?.(
          'serial-limit',
          `serial output reached its limit of ${limit} bytes; later output is dropped`,
        );
        return;
      }
      if (writeFully(sink.fd, this.one, this.leaveSink) === 1) {
        c[C_WRITTEN]!++;
        return;
      }
      const stopping = sink.stopping?.() === true;
      if (mayHold && !stopping) {
        this.setHeld(byte); // a pause: sent first after it
        return;
      }
      c[C_DROPPED]!++;
      if (!stopping) {
        sink.notice?.(
          'serial-output',
          "serial output: a byte a vCPU wrote while another's was held back by a pause (the terminal or pipe took no more) was dropped",
        );
        return;
      }
      sink.notice?.(
        'serial-output',
        'serial output: the terminal or pipe took no more when the VM stopped; what it had not taken is dropped',
      );
    } catch (e) {
      this.s[S_TX]! |= TX_CLOSED;
      c[C_DROPPED]!++;
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      sink.notice?.(
        'serial-output',
        `serial output failed (${code}); later output is dropped, the VM goes on`,
      );
    }
  }

  private rxPush(byte: number): boolean {
    const tail = this.s[S_RX_TAIL]!;
    const next = (tail + 1) % UART_RX_RING;
    if (next === this.s[S_RX_HEAD]) return false;
    this.rx[tail] = byte;
    this.s[S_RX_TAIL] = next;
    return true;
  }

  private rxPop(): number {
    const head = this.s[S_RX_HEAD]!;
    if (head === this.s[S_RX_TAIL]) return 0;
    const b = this.rx[head]!;
    this.s[S_RX_HEAD] = (head + 1) % UART_RX_RING;
    return b;
  }

  private lock(): void {
    while (Atomics.compareExchange(this.s, S_LOCK, 0, 1) !== 0) {
      Atomics.wait(this.s, S_LOCK, 1, 1);
    }
  }

  private unlock(): void {
    Atomics.store(this.s, S_LOCK, 0);
    Atomics.notify(this.s, S_LOCK, 1);
  }
}

const retryWait = new Int32Array(new SharedArrayBuffer(4));

/**
 * Write all bytes, waiting out EAGAIN (a full non-blocking sink: guest output is not dropped while
 * it may still be taken) until `stopping()` says the VM is going. Returns how many were written;
 * other errors throw.
 */
export function writeFully(fd: number, bytes: Uint8Array, stopping?: () => boolean): number {
  let off = 0;
  while (off < bytes.length) {
    try {
      off += fs.writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      if (stopping?.()) return off;
      Atomics.wait(retryWait, 0, 0, 1);
    }
  }
  return off;
}
