// Main-thread side of the poller: watch eventfds and call back when one fires.
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { EventNotifier } from '@vmm/hypervisor';
import { startWorker } from '../worker-url';

export class EventfdPoller {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly watches: { notifier: EventNotifier; onFire: () => void }[] = [];

  constructor(private readonly wake: EventNotifier) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = startWorker('poller-worker', {
      workerData: { wakeFd: wake.fd, port: port2 },
      transferList: [port2],
    });
    this.worker.on('message', (fired: number[]) => {
      for (const i of fired) this.watches[i]?.onFire();
    });
    this.worker.unref();
  }

  /** Call `onFire` (on the main thread) each time `notifier` is signalled; it is drained for you. */
  watch(notifier: EventNotifier, onFire: () => void): void {
    this.watches.push({ notifier, onFire });
    this.port.postMessage({ fds: this.watches.map((w) => w.notifier.fd) });
    this.wake.signal();
  }

  /** Stop watching every notifier (before they are closed: a closed fd would poll as POLLNVAL). */
  unwatchAll(): void {
    this.watches.length = 0;
    this.port.postMessage({ fds: [] });
    this.wake.signal();
  }

  async close(): Promise<void> {
    this.port.postMessage({ stop: true });
    this.wake.signal();
    await this.worker.terminate();
  }
}
