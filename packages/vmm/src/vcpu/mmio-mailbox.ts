// An MMIO access handed from a vCPU worker to the main thread, where the devices that do I/O live
// (virtio-mmio). The worker writes the request into shared memory, wakes the main thread and waits
// (Atomics.wait: the vCPU thread may block); the main thread is woken through Atomics.waitAsync
// (its event loop never blocks), answers, and wakes the worker. One mailbox per vCPU; no allocation
// per access on the worker side.

// Int32 words.
const W_STATE = 0;
const W_WRITE = 1;
const W_ADDR_LO = 2;
const W_ADDR_HI = 3;
const W_LEN = 4;
const WORDS = 6;
const DATA_OFFSET = WORDS * 4;
const DATA_BYTES = 8;

const IDLE = 0;
const REQUEST = 1;
const DONE = 2;
const CLOSED = 3;

export function createMailbox(): SharedArrayBuffer {
  return new SharedArrayBuffer(DATA_OFFSET + DATA_BYTES);
}

/** The MMIO devices the main thread answers for. */
export interface MmioHandler {
  mmioRead(address: number, data: Uint8Array): void;
  mmioWrite(address: number, data: Uint8Array): void;
}

/** Worker side. */
export class MailboxClient {
  private readonly w: Int32Array;
  private readonly data: Uint8Array;

  constructor(sab: SharedArrayBuffer) {
    this.w = new Int32Array(sab, 0, WORDS);
    this.data = new Uint8Array(sab, DATA_OFFSET, DATA_BYTES);
  }

  /** Forward one access and wait for the answer; false if the main side has closed. */
  call(write: boolean, address: number, data: Uint8Array, len: number): boolean {
    const n = Math.min(len, DATA_BYTES);
    const w = this.w;
    if (Atomics.load(w, W_STATE) === CLOSED) return false;
    w[W_WRITE] = write ? 1 : 0;
    w[W_ADDR_LO] = address >>> 0;
    w[W_ADDR_HI] = Math.floor(address / 2 ** 32);
    w[W_LEN] = n;
    if (write) this.data.set(data.subarray(0, n));
    Atomics.store(w, W_STATE, REQUEST);
    Atomics.notify(w, W_STATE);
    while (Atomics.load(w, W_STATE) === REQUEST) Atomics.wait(w, W_STATE, REQUEST);
    if (Atomics.load(w, W_STATE) === CLOSED) return false;
    if (!write) data.set(this.data.subarray(0, n));
    Atomics.store(w, W_STATE, IDLE);
    return true;
  }
}

/** Main-thread side: answers requests until closed. */
export class MailboxServer {
  private readonly w: Int32Array;
  private readonly data: Uint8Array;
  private closed = false;

  constructor(
    sab: SharedArrayBuffer,
    private readonly handler: MmioHandler,
  ) {
    this.w = new Int32Array(sab, 0, WORDS);
    this.data = new Uint8Array(sab, DATA_OFFSET, DATA_BYTES);
    void this.serve();
  }

  close(): void {
    this.closed = true;
    Atomics.store(this.w, W_STATE, CLOSED);
    Atomics.notify(this.w, W_STATE);
  }

  private async serve(): Promise<void> {
    const w = this.w;
    while (!this.closed) {
      const state = Atomics.load(w, W_STATE);
      if (state !== REQUEST) {
        const r = Atomics.waitAsync(w, W_STATE, state);
        if (r.async) await r.value;
        continue;
      }
      const len = w[W_LEN]!;
      const address = (w[W_ADDR_HI]! >>> 0) * 2 ** 32 + (w[W_ADDR_LO]! >>> 0);
      answerMmio(this.handler, w[W_WRITE] === 1, address, this.data.subarray(0, len));
      if (this.closed) return;
      Atomics.store(w, W_STATE, DONE);
      Atomics.notify(w, W_STATE);
    }
  }
}

/** One access answered by `handler`'s devices. */
function answerMmio(handler: MmioHandler, write: boolean, address: number, view: Uint8Array): void {
  try {
    if (write) handler.mmioWrite(address, view);
    else handler.mmioRead(address, view);
  } catch {
    // A device must not throw for guest values; if one does, the guest reads all ones.
    if (!write) view.fill(0xff);
  }
}

/** The MMIO accesses of a vCPU the main thread runs itself (vcpu/early-run.ts): no mailbox. */
export class DirectMmio {
  constructor(private readonly handler: MmioHandler) {}

  call(write: boolean, address: number, data: Uint8Array, len: number): boolean {
    answerMmio(this.handler, write, address, data.subarray(0, Math.min(len, DATA_BYTES)));
    return true;
  }
}
