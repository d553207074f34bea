// The virtio-mmio InterruptStatus and InterruptACK registers (virtio 1.2 §4.2.2), answered in the
// vCPU thread. A driver's interrupt handler reads one and writes the other on every interrupt;
// answering them here, with Atomics on each transport's shared cell, spares two round trips to the
// main thread per interrupt. Every other register still goes to the main thread's transport.
import { mmioRegisters as R } from '@vmm/virtio';

/** Where the bus's transports sit and their InterruptStatus cells (one Int32 per slot). */
export interface VirtioIsrSpec {
  cells: SharedArrayBuffer;
  base: number;
  slots: number;
}

export class VirtioIsrWindow {
  private readonly cells: Int32Array;
  private readonly base: number;
  private readonly end: number;

  constructor(spec: VirtioIsrSpec) {
    this.cells = new Int32Array(spec.cells, 0, spec.slots);
    this.base = spec.base;
    this.end = spec.base + spec.slots * R.MMIO_SLOT_SIZE;
  }

  /** Answer the access if it is an aligned 32-bit InterruptStatus read or InterruptACK write. */
  access(write: boolean, address: number, data: Uint8Array, len: number): boolean {
    if (len !== 4 || address < this.base || address >= this.end) return false;
    const rel = address - this.base;
    const offset = rel % R.MMIO_SLOT_SIZE;
    const slot = (rel - offset) / R.MMIO_SLOT_SIZE;
    if (!write && offset === R.MMIO_INTERRUPT_STATUS) {
      const v = Atomics.load(this.cells, slot);
      data[0] = v & 0xff;
      data[1] = (v >>> 8) & 0xff;
      data[2] = (v >>> 16) & 0xff;
      data[3] = (v >>> 24) & 0xff;
      return true;
    }
    if (write && offset === R.MMIO_INTERRUPT_ACK) {
      Atomics.and(this.cells, slot, ~(data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)));
      return true;
    }
    return false;
  }
}
