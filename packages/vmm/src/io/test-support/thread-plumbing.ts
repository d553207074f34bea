// Tests only: a boot's plumbing for a device served in its own thread, as the VM's bus gives it:
// the transport over real memfd RAM with a shared InterruptStatus cell, the queue's kick eventfd,
// and an irqfd whose signals raise the test driver's interrupt line (what KVM does with an irqfd).
import { createHostNotifier, type MemfdGuestMemory } from '@vmm/hypervisor';
import { MmioTransport } from '@vmm/virtio';
import { TestInterrupt } from '../../../../virtio/test/support/guest-driver';
import type { ThreadedDevice } from '../threaded-device';

export function threadPlumbing(device: ThreadedDevice, memory: MemfdGuestMemory) {
  const cells = new SharedArrayBuffer(4);
  const irq = new TestInterrupt();
  const transport = new MmioTransport({
    device,
    memory,
    interrupt: irq,
    interruptStatus: new Int32Array(cells),
  });
  const kick = createHostNotifier();
  const irqfd = createHostNotifier();
  const bridge = setInterval(() => {
    if (irqfd.drain() > 0n) irq.raise();
  }, 1);
  return {
    cells,
    irq,
    transport,
    kick,
    /** Lend the RAM to the thread and hand it the eventfds: from now on it serves the queue. */
    attach: () =>
      device.attach({ lease: memory.lend(), isr: cells, isrIndex: 0, kickFds: [kick.fd], irqFd: irqfd.fd }),
    /** The boot is over: the thread lets go, then the device, the eventfds and the RAM are closed. */
    close: () => {
      clearInterval(bridge);
      device.detach();
      device.close();
      kick.close();
      irqfd.close();
      memory.close();
    },
  };
}
