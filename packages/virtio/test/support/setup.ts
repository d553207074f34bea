// A guest machine for model tests: guest RAM over ArrayBuffers (two regions, with a hole between
// them, so "outside guest memory" has somewhere to point), a transport, and the guest driver.
import type { VirtioDevice } from '../../src/device';
import { ArrayGuestMemory, type LogSink } from '@vmm/hypervisor';
import { MmioTransport } from '../../src/mmio/transport';
import { GuestAllocator, GuestDriver, TestInterrupt } from './guest-driver';

export const LOW_RAM = { gpa: 0, size: 8 * 1024 * 1024 };
export const HIGH_RAM = { gpa: 0x1_0000_0000, size: 1024 * 1024 };

export function makeGuest(device: VirtioDevice, opts: { maxChainBytes?: number; log?: LogSink } = {}) {
  const mem = new ArrayGuestMemory([LOW_RAM, HIGH_RAM]);
  const irq = new TestInterrupt();
  const transport = new MmioTransport({
    device,
    memory: mem,
    interrupt: irq,
    maxChainBytes: opts.maxChainBytes,
    log: opts.log,
  });
  const alloc = new GuestAllocator(0x1000, LOW_RAM.size);
  const driver = new GuestDriver(transport, mem, alloc, irq);
  return { mem, irq, transport, alloc, driver };
}
